import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities';
import { nonRetryableErrorTypes as domainErrors } from '../contract/failures';

/** Domain errors: business outcomes, never retried. */
const nonRetryableErrorTypes = [...domainErrors];

/** Database work: short, retried on infrastructure hiccups (a shard restarting) until it goes through. */
export const data = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes },
});

/**
 * The same database work as local activities: run by the worker that runs the workflow, without a round trip
 * through the server per call. For the short, idempotent ledger and cart writes on the add-to-cart path.
 */
export const localData = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes },
});

/** The payment provider: a charge that does not answer in time is tried once more, then the checkout fails. */
export const payments = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 2, nonRetryableErrorTypes },
});
