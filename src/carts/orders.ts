import type { Collection } from 'mongodb';
import { collections, insertOnce, type ShardSet } from '../db';
import type { Order } from '../contract/types';
import { replaceUnlessNewer } from './replace-unless-newer';

type OrderDoc = Order & { _id: string };

/**
 * Orders (`orders`, `_id = orderId`, on the order's shard), written only by their checkout workflow and read by
 * `_id`, which is also their shard key on a sharded cluster.
 */
export class OrderStore {
  constructor(private readonly shards: ShardSet) {}

  /**
   * Records a new order, or answers the one stored under its id: an order id's saga runs once, and a run that
   * finds its order stored goes on from it.
   */
  async open(order: Order): Promise<Order> {
    const { stands } = await insertOnce(this.orders(order.orderId), { _id: order.orderId, ...order }, 'read');
    if (!stands) throw new Error(`order insert refused for ${order.orderId} without a visible order`);
    return withoutId(stands);
  }

  /** Saves an order unless a newer state of it is stored (see CartLine.rev); whether it wrote. */
  save(order: Order): Promise<boolean> {
    return replaceUnlessNewer(this.orders(order.orderId), { _id: order.orderId, ...order });
  }

  async get(orderId: string): Promise<Order | undefined> {
    const doc = await this.orders(orderId).findOne({ _id: orderId });
    return doc ? withoutId(doc) : undefined;
  }

  /** Whether the order is stored (its checkout has begun), without reading it. */
  async has(orderId: string): Promise<boolean> {
    return (await this.orders(orderId).findOne({ _id: orderId }, { projection: { _id: 1 } })) !== null;
  }

  /** Every order on every shard (for the system check of a quiet store: a scan). */
  async all(): Promise<Order[]> {
    const perShard = await Promise.all(
      Array.from({ length: this.shards.size }, (_, s) => this.ordersOn(s).find({}).toArray()),
    );
    return perShard.flat().map(withoutId);
  }

  private orders(orderId: string): Collection<OrderDoc> {
    return this.ordersOn(this.shards.shardFor(orderId));
  }

  private ordersOn(shard: number): Collection<OrderDoc> {
    return this.shards.cartsCollection<OrderDoc>(shard, collections.carts.orders);
  }
}

function withoutId({ _id, ...order }: OrderDoc): Order {
  return order;
}
