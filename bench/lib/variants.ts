import type { BenchDatabases } from './databases';
import { ledgerVariant } from './ledger-variant';
import { rawInsert } from './raw-insert';
import { seedBaseline } from './seed-baseline';
import type { Variant } from './variant';

export const variantNames = ['raw-insert', 'buckets-8', 'bucket-1', 'seed-baseline'] as const;
export type VariantName = (typeof variantNames)[number];

export function variantFor(name: VariantName, dbs: BenchDatabases): Variant {
  switch (name) {
    case 'raw-insert':
      return rawInsert(dbs.shards);
    case 'buckets-8':
      return ledgerVariant(name, dbs.shards, 8);
    case 'bucket-1':
      return ledgerVariant(name, dbs.shards, 1);
    case 'seed-baseline':
      return seedBaseline(dbs.cartLines);
  }
}

export function isVariantName(name: string): name is VariantName {
  return (variantNames as readonly string[]).includes(name);
}
