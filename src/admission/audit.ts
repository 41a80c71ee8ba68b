import { collections, type ShardSet } from '../db';
import type { GateDoc, PlaceDoc, TicketDoc } from './waiting-room';

/** One SKU's waiting room as stored, for the system check. */
export interface WaitingRoomRecords {
  readonly sku: string;
  readonly tickets: readonly TicketDoc[];
  readonly places: readonly PlaceDoc[];
  readonly gates: readonly GateDoc[];
}

/** A SKU's waiting room as stored (on the SKU's home shard): a full read, for checks. */
export async function waitingRoomRecords(shards: ShardSet, sku: string): Promise<WaitingRoomRecords> {
  const db = shards.stockDb(shards.shardFor(sku));
  // In the reverse of the order they are written (a ticket, then its line's place, then a gate step past it),
  // so a room in use is never seen with a place or a step that points past the tickets read.
  const gates = await db.collection<GateDoc>(collections.stock.queueGates).find({ sku }).toArray();
  const places = await db.collection<PlaceDoc>(collections.stock.queuePlaces).find({ sku }).toArray();
  const tickets = await db.collection<TicketDoc>(collections.stock.queueTickets).find({ sku }).toArray();
  return { sku, tickets, places, gates };
}

/**
 * What must hold of a waiting room: places are 0..n, each given once; a line's place is one that was given to
 * it; the gate's steps are 0..m, `through` only grows and never passes the last place given; and every line of the SKU that reached the stock (`lines`, by hold id) was let in by the gate.
 */
export function waitingRoomViolations(room: WaitingRoomRecords, lines: readonly string[]): string[] {
  const violations: string[] = [];
  const tickets = [...room.tickets].sort((a, b) => a.place - b.place);
  // Places are _ids, so none is given twice; a gap is a place never given (each reported once).
  tickets.forEach((t, i) => {
    const expected = i === 0 ? 0 : tickets[i - 1]!.place + 1;
    if (t.place !== expected) violations.push(`places ${expected}..${t.place - 1}: never given`);
  });
  const ticketAt = new Map(tickets.map((t) => [t.place, t]));
  const placeOf = new Map<string, number>();
  for (const p of room.places) {
    const holdId = p._id.slice(room.sku.length + 1);
    placeOf.set(holdId, p.place);
    if (ticketAt.get(p.place)?.holdId !== holdId)
      violations.push(`line ${holdId}: holds place ${p.place}, not given to it`);
  }
  const gates = [...room.gates].sort((a, b) => a.step - b.step);
  gates.forEach((g, i) => {
    if (g.step !== i) violations.push(`gate step ${i}: missing or written twice`);
    const before = gates[i - 1];
    if (before && g.through <= before.through) {
      violations.push(`gate step ${g.step}: went back (through ${before.through} → ${g.through})`);
    }
  });
  const through = gates.at(-1)?.through ?? -1;
  const lastGiven = tickets.at(-1)?.place ?? -1;
  if (through > lastGiven) violations.push(`gate: let in through place ${through}, the last given is ${lastGiven}`);
  for (const holdId of lines) {
    const place = placeOf.get(holdId);
    if (place === undefined) violations.push(`line ${holdId}: reached the stock without a place in line`);
    else if (place > through)
      violations.push(`line ${holdId}: reached the stock at place ${place}, gate at ${through}`);
  }
  return violations;
}
