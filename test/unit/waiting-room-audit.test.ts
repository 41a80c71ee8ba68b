import { describe, expect, it } from 'vitest';
import { waitingRoomViolations, type WaitingRoomRecords } from '../../src/admission';

const sku = 'drop-1';
const at = new Date(0);
const ticket = (place: number, holdId: string) => ({ _id: `${sku}#${place}`, sku, place, holdId, at });
const place = (holdId: string, n: number) => ({ _id: `${sku}|${holdId}`, sku, place: n, request: 'r', at });
const gate = (step: number, through: number, tat: number) => ({
  _id: `${sku}@${step}`,
  sku,
  step,
  through,
  tat,
  at,
});

/** Three places, the gate through place 1. */
const room: WaitingRoomRecords = {
  sku,
  tickets: [ticket(0, 'c.a'), ticket(1, 'c.b'), ticket(2, 'c.c')],
  places: [place('c.a', 0), place('c.b', 1), place('c.c', 2)],
  gates: [gate(0, 0, 1000), gate(1, 1, 2000)],
};

describe('the system check of a waiting room', () => {
  it('passes a room whose lines that reached the stock were let in', () => {
    expect(waitingRoomViolations(room, ['c.a', 'c.b'])).toEqual([]);
  });

  it('passes a ticket no line is bound to (a twin bound another, or a crash came before the binding)', () => {
    const orphan = { ...room, tickets: [...room.tickets, ticket(3, 'c.a')] };
    expect(waitingRoomViolations(orphan, ['c.a', 'c.b'])).toEqual([]);
  });

  it('finds a line that reached the stock beyond the gate, or without a place', () => {
    expect(waitingRoomViolations(room, ['c.c'])).toEqual(['line c.c: reached the stock at place 2, gate at 1']);
    expect(waitingRoomViolations(room, ['c.x'])).toEqual(['line c.x: reached the stock without a place in line']);
  });

  it('finds a place skipped, a line bound to a place not its own, and a gate that went back', () => {
    const gap = { ...room, tickets: [ticket(0, 'c.a'), ticket(3, 'c.b'), ticket(4, 'c.c')] };
    expect(waitingRoomViolations(gap, [])).toContain('places 1..2: never given');
    const stolen = { ...room, places: [place('c.a', 1)] };
    expect(waitingRoomViolations(stolen, [])).toEqual(['line c.a: holds place 1, not given to it']);
    const back = { ...room, gates: [gate(0, 1, 1000), gate(1, 0, 2000)] };
    expect(waitingRoomViolations(back, [])).toEqual(['gate step 1: went back (through 1 → 0)']);
    const past = { ...room, gates: [gate(0, 5, 1000)] };
    expect(waitingRoomViolations(past, [])).toEqual(['gate: let in through place 5, the last given is 2']);
  });
});
