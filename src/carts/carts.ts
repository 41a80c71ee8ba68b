import { randomBytes } from 'node:crypto';
import { collections, type ShardSet } from '../db';

export interface CartDoc {
  readonly _id: string;
  /** The customer the cart was bound to at creation (written once, never changed; its token carries it too). */
  readonly customerId?: string;
  readonly createdAt: Date;
}

/** Carts (`carts`, `_id = cartId`): a cart is its id; its lines and orders name it. */
export class CartStore {
  constructor(private readonly shards: ShardSet) {}

  /** Creates a cart under a new random id, bound to a customer if one is given, and returns the id. */
  async create(customerId?: string): Promise<string> {
    const cartId = `c${randomBytes(12).toString('hex')}`;
    await this.shards
      .cartsDb(this.shards.shardFor(cartId))
      .collection<CartDoc>(collections.carts.carts)
      .insertOne({ _id: cartId, ...(customerId !== undefined ? { customerId } : {}), createdAt: new Date() });
    return cartId;
  }

  /** Every cart of every shard (for the system check). */
  async all(): Promise<CartDoc[]> {
    const parts = await Promise.all(
      Array.from({ length: this.shards.size }, (_, s) =>
        this.shards.cartsDb(s).collection<CartDoc>(collections.carts.carts).find({}).toArray(),
      ),
    );
    return parts.flat();
  }
}
