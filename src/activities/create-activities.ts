import { backorderActivities } from './backorder-activities';
import { checkoutActivities } from './checkout-activities';
import type { ActivityDeps } from './deps';
import { eventActivities } from './event-activities';
import { holdActivities } from './hold-activities';
import { replenishActivities } from './replenish-activities';

/**
 * Builds the activities from injected clients, so tests run them against real servers (and a fake of the
 * payment provider only). Every mutating activity is idempotent by a key its workflow derives from its own id.
 * Workflows proxy them by name, so a name here is part of their histories.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...holdActivities(deps),
    ...checkoutActivities(deps),
    ...backorderActivities(deps),
    ...replenishActivities(deps),
    ...eventActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
