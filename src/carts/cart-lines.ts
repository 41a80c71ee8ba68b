import type { Collection } from 'mongodb';
import { collections, insertOnce, type ShardSet } from '../db';
import type { CartLine } from '../contract/types';
import { replaceUnlessNewer } from './replace-unless-newer';

type CartLineDoc = CartLine & { _id: string };

/** A cart's n-th line: `_id = <cartId>#<n>`, appended once per line, never changed. */
interface LineRef {
  readonly _id: string;
  readonly cartId: string;
  readonly holdId: string;
}

/** Carts have few lines: a cart with more than this many refs is refused rather than walked further. */
const maxRefsPerCart = 10_000;

function refId(cartId: string, n: number): string {
  return `${cartId}#${String(n).padStart(4, '0')}`;
}

/**
 * Cart lines (`cart_lines`, `_id = holdId`, written only by the line's hold workflow) and, per cart, the list of
 * its lines as append-only refs (`cart_line_refs`). Listing a cart reads its refs and then its lines, all by
 * `_id`: FerretDB pushes down nothing else, so `find({ cartId })` would read every line of the shard.
 * Refs are appended like ledger entries: at the first free `n`, the `_id` unique index arbitrating between
 * the lines of one cart that save at once; a line already referenced is not referenced again.
 */
export class CartLineStore {
  constructor(private readonly shards: ShardSet) {}

  /**
   * Writes the line (its workflow is its only writer) unless a newer state of it is stored, and makes sure its
   * cart lists it. Idempotent. The filter carries the shard key (`cartId`).
   */
  async save(line: CartLine): Promise<void> {
    await replaceUnlessNewer(this.lines(line.cartId), { _id: line.holdId, ...line }, { cartId: line.cartId });
    await this.reference(line.cartId, line.holdId);
  }

  async get(cartId: string, holdId: string): Promise<CartLine | undefined> {
    const doc = await this.lines(cartId).findOne({ _id: holdId, cartId });
    return doc ? withoutId(doc) : undefined;
  }

  /** The cart's lines, oldest first. */
  async list(cartId: string): Promise<CartLine[]> {
    const holdIds: string[] = [];
    const refs = this.refs(cartId);
    for (let n = 0; n < maxRefsPerCart; n++) {
      const ref = await refs.findOne({ _id: refId(cartId, n) });
      if (!ref) break;
      holdIds.push(ref.holdId);
    }
    const lines = await Promise.all(holdIds.map((holdId) => this.get(cartId, holdId)));
    return lines.filter((l): l is CartLine => l !== undefined);
  }

  /** Every line of every cart, on every shard (for the system check of a quiet store: a scan). */
  async all(): Promise<CartLine[]> {
    const perShard = await Promise.all(
      Array.from({ length: this.shards.size }, (_, s) => this.linesOn(s).find({}).toArray()),
    );
    return perShard.flat().map(withoutId);
  }

  private async reference(cartId: string, holdId: string): Promise<void> {
    const refs = this.refs(cartId);
    for (let n = 0; n < maxRefsPerCart; n++) {
      const _id = refId(cartId, n);
      const ref = await refs.findOne({ _id });
      if (ref?.holdId === holdId) return;
      if (ref) continue;
      // Another line of this cart (or this line's twin) may take slot n first: then it is that one's.
      const { inserted, stands } = await insertOnce(refs, { _id, cartId, holdId }, 'read');
      if (inserted || stands?.holdId === holdId) return;
    }
    throw new Error(`cart ${cartId} has more than ${maxRefsPerCart} lines`);
  }

  private lines(cartId: string): Collection<CartLineDoc> {
    return this.linesOn(this.shards.shardFor(cartId));
  }

  private linesOn(shard: number): Collection<CartLineDoc> {
    return this.shards.cartsCollection<CartLineDoc>(shard, collections.carts.lines);
  }

  private refs(cartId: string): Collection<LineRef> {
    return this.shards.cartsCollection<LineRef>(this.shards.shardFor(cartId), collections.carts.lineRefs);
  }
}

function withoutId({ _id, ...line }: CartLineDoc): CartLine {
  return line;
}
