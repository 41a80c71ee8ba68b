import type { Collection } from 'mongodb';
import { collections, insertOnce, type ShardSet } from '../db';
import { InvalidStockInputError, ProductConflictError, UnknownProductError } from './errors';
import type { BucketLedger } from './ledger';
import { bucketsOf, evenSplit, skuPattern } from './placement';
import type { BucketRef, ProductDoc, ProductInput } from './types';

/** Bucket documents: where each bucket of a SKU lives, written once when its product is created. */
interface BucketDoc {
  readonly _id: string;
  readonly sku: string;
  readonly index: number;
  readonly shard: number;
}

/**
 * Products (collection `products`, `_id = sku`, on the SKU's shard) and a per-process cache of them: a product
 * never changes once created, so a cached one is never stale.
 */
export class Catalog {
  private readonly products = new Map<string, ProductDoc>();

  constructor(
    private readonly shards: ShardSet,
    private readonly ledger: BucketLedger,
    private readonly clock: () => Date,
  ) {}

  /**
   * Creates a product and its buckets, receiving `initialQuantity` split evenly over them. Idempotent by SKU:
   * creating the same definition again is a no-op; a different definition is a ProductConflictError.
   */
  async createProduct(input: ProductInput, initialQuantity: number): Promise<ProductDoc> {
    if (!skuPattern.test(input.sku)) throw new InvalidStockInputError(`invalid sku ${JSON.stringify(input.sku)}`);
    if (!Number.isSafeInteger(initialQuantity) || initialQuantity < 0) {
      throw new InvalidStockInputError('initial quantity must be a non-negative integer');
    }
    if (!Number.isInteger(input.buckets) || input.buckets < 1 || input.buckets > 64) {
      throw new InvalidStockInputError('buckets must be 1..64');
    }
    const rate = input.admitPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 10_000)) {
      throw new InvalidStockInputError('admitPerSecond must be 1..10000');
    }
    if (input.maxPerCustomer !== undefined) {
      if (!Number.isSafeInteger(input.maxPerCustomer) || input.maxPerCustomer < 1) {
        throw new InvalidStockInputError('maxPerCustomer must be a positive integer');
      }
      // A backorder's fills are reserved by its queue, not by the buyer: only strict stock is limited.
      if (input.policy !== 'strict') throw new InvalidStockInputError('only strict products take maxPerCustomer');
    }
    if (input.offerSeconds !== undefined) {
      if (!Number.isInteger(input.offerSeconds) || input.offerSeconds < 1 || input.offerSeconds > 86_400) {
        throw new InvalidStockInputError('offerSeconds must be 1..86400');
      }
      // A backorder's queue fills for good; a waitlist only offers, for a strict SKU.
      if (input.policy !== 'strict') throw new InvalidStockInputError('only strict products take a waitlist');
    }
    const doc: ProductDoc = {
      _id: input.sku,
      sku: input.sku,
      name: input.name,
      priceCents: input.priceCents,
      policy: input.policy,
      buckets: input.buckets,
      lowStockThreshold: input.lowStockThreshold,
      reorderQuantity: input.reorderQuantity,
      ...(input.admitPerSecond !== undefined ? { admitPerSecond: input.admitPerSecond } : {}),
      ...(input.maxPerCustomer !== undefined ? { maxPerCustomer: input.maxPerCustomer } : {}),
      ...(input.offerSeconds !== undefined ? { offerSeconds: input.offerSeconds } : {}),
      initialQuantity,
      createdAt: this.clock(),
    };
    const { inserted, stands } = await insertOnce(this.productsOn(this.shards.shardFor(input.sku)), doc, 'read');
    if (!inserted && (!stands || !sameDefinition(stands, doc))) throw new ProductConflictError(input.sku);
    const product = stands ?? doc;
    const buckets = this.bucketsOf(product);
    const shares = evenSplit(initialQuantity, buckets.length);
    await Promise.all(
      buckets.map(async (bucket, i) => {
        // Written once, never changed: an insert, and a twin's insert that came first is the same document.
        const { id: _id, sku, index, shard } = bucket;
        await insertOnce(this.bucketsOn(shard), { _id, sku, index, shard }, 'ignore');
        await this.ledger.open(bucket, `create:${input.sku}`, shares[i]!);
      }),
    );
    this.products.set(product.sku, product);
    return product;
  }

  async product(sku: string): Promise<ProductDoc> {
    const cached = this.products.get(sku);
    if (cached) return cached;
    if (!skuPattern.test(sku)) throw new UnknownProductError(sku);
    const found = await this.productsOn(this.shards.shardFor(sku)).findOne({ _id: sku });
    if (!found) throw new UnknownProductError(sku);
    this.products.set(sku, found);
    return found;
  }

  async listProducts(): Promise<ProductDoc[]> {
    const perShard = await Promise.all(
      Array.from({ length: this.shards.size }, (_, s) => this.productsOn(s).find({}).toArray()),
    );
    return perShard.flat().sort((a, b) => a.sku.localeCompare(b.sku));
  }

  bucketsOf(product: Pick<ProductDoc, 'sku' | 'buckets'>): BucketRef[] {
    return bucketsOf(product.sku, product.buckets, this.shards.size);
  }

  /** The buckets of a SKU, from its product (cached). */
  async bucketsOfSku(sku: string): Promise<BucketRef[]> {
    return this.bucketsOf(await this.product(sku));
  }

  private productsOn(shard: number): Collection<ProductDoc> {
    return this.shards.stockCollection<ProductDoc>(shard, collections.stock.products);
  }

  private bucketsOn(shard: number): Collection<BucketDoc> {
    return this.shards.stockCollection<BucketDoc>(shard, collections.stock.buckets);
  }
}

function sameDefinition(a: ProductDoc, b: ProductDoc): boolean {
  const keys = [
    'name',
    'priceCents',
    'policy',
    'buckets',
    'lowStockThreshold',
    'reorderQuantity',
    'admitPerSecond',
    'maxPerCustomer',
    'offerSeconds',
    'initialQuantity',
  ] as const;
  return keys.every((k) => a[k] === b[k]);
}
