import type { BenchDatabases } from './databases';
import { ledgerVariant } from './ledger-variant';
import { seedBaseline } from './seed-baseline';
import type { Variant } from './variant';

export const variantNames = ['buckets-8', 'bucket-1', 'seed-baseline'] as const;
export type VariantName = (typeof variantNames)[number];

export function variantFor(name: VariantName, dbs: BenchDatabases): Variant {
  switch (name) {
    case 'buckets-8':
      return ledgerVariant(name, dbs.shards, 8);
    case 'bucket-1':
      return ledgerVariant(name, dbs.shards, 1);
    case 'seed-baseline':
      return seedBaseline(dbs.cartLines);
  }
}
