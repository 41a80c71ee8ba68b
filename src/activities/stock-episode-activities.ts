import { eventId } from '../contract/events';
import { episodeKey, EventStore, SoldOutEpisodes } from '../events';
import type { Hold } from '../stock/types';
import type { ActivityDeps } from './deps';
import { publishEvent } from './event-activities';

const episodesOf = new WeakMap<ActivityDeps, SoldOutEpisodes>();

function episodes(deps: ActivityDeps): SoldOutEpisodes {
  let e = episodesOf.get(deps);
  if (!e) {
    e = new SoldOutEpisodes(new EventStore(deps.shards), eventId);
    episodesOf.set(deps, e);
  }
  return e;
}

/**
 * Units a shopper could take now (StockService.sellable). Undefined while one of the SKU's shards is cut off: its
 * buckets cannot be read, and the step's answer must not wait for the shard's time-out; the episode is decided by
 * the next take or receipt after the healing.
 */
async function sellable(deps: ActivityDeps, sku: string): Promise<number | undefined> {
  const { stock, shards } = deps;
  if (stock.bucketsOf(await stock.product(sku)).some((b) => !shards.reachable(b.shard))) return undefined;
  return stock.sellable(sku);
}

/** Ends open episode `n` of the SKU with `stock.back_in_stock` when it has units on sale now (a fresh read). */
async function endIfBackInStock(deps: ActivityDeps, sku: string, n: number): Promise<void> {
  const units = await sellable(deps, sku);
  if (!units) return;
  await publishEvent(deps, {
    type: 'stock.back_in_stock',
    key: episodeKey(sku, n),
    aggregate: { kind: 'sku', id: sku },
    data: { sku, available: units },
  });
}

/**
 * After a take of a strict SKU's available units: when none are left, records `stock.sold_out` for the SKU's
 * next episode (once: every twin and retry records the same id). A restock that landed meanwhile may have found
 * no episode open, so the SKU is read again after the record, and found back in stock it closes the episode.
 *
 * Only fresh reads decide: other processes take from the other buckets, so their heads as this process cached
 * them may be long stale. The take's own bucket head is this process's own write, so a take that left units in
 * its bucket costs no I/O; one that emptied it (or whose hold is unknown: a run of hold revision 3) reads every
 * head fresh.
 */
export async function afterSellableTaken(deps: ActivityDeps, sku: string, taken?: Hold): Promise<void> {
  const product = await deps.stock.product(sku);
  if (product.policy !== 'strict') return;
  const own = taken ? deps.stock.cachedAvailability(product)[taken.bucket] : undefined;
  if (own !== undefined && own > 0) return;
  const left = await sellable(deps, sku);
  if (left === undefined || left > 0) return;
  const episode = await episodes(deps).current(sku);
  if (episode.open) return;
  await publishEvent(deps, {
    type: 'stock.sold_out',
    key: episodeKey(sku, episode.n),
    aggregate: { kind: 'sku', id: sku },
    data: { sku },
  });
  await endIfBackInStock(deps, sku, episode.n);
}

/**
 * After units went on sale (a restock, a queue's leftover of one, a line's release or trim): a strict SKU whose
 * sold-out episode is open is back in stock, recorded once for that episode. A retry of the step finds the
 * episode closed by its first run, or closes it with the same event.
 */
export async function afterStockReceived(deps: ActivityDeps, sku: string): Promise<void> {
  const product = await deps.stock.product(sku);
  if (product.policy !== 'strict') return;
  const episode = await episodes(deps).current(sku);
  if (episode.open) await endIfBackInStock(deps, sku, episode.n);
}

/**
 * After units came on sale or left it outside a take (an ops move, a queue's leftover put on sale): records the
 * event the SKU's fresh stock now calls for, once for its episode: back in stock when one is open, sold out
 * when none is and nothing is left.
 */
export async function afterSellableChanged(deps: ActivityDeps, sku: string): Promise<void> {
  const product = await deps.stock.product(sku);
  if (product.policy !== 'strict') return;
  const episode = await episodes(deps).current(sku);
  if (episode.open) await endIfBackInStock(deps, sku, episode.n);
  else await afterSellableTaken(deps, sku);
}
