import { randomBytes } from 'node:crypto';
import { collections, type ShardSet } from '../db';

interface CartDoc {
  readonly _id: string;
  readonly createdAt: Date;
}

/** Carts (`carts`, `_id = cartId`): a cart is its id; its lines and orders name it. */
export class CartStore {
  constructor(private readonly shards: ShardSet) {}

  /** Creates a cart under a new random id and returns the id. */
  async create(): Promise<string> {
    const cartId = `c${randomBytes(12).toString('hex')}`;
    await this.shards
      .cartsDb(this.shards.shardFor(cartId))
      .collection<CartDoc>(collections.carts.carts)
      .insertOne({ _id: cartId, createdAt: new Date() });
    return cartId;
  }
}
