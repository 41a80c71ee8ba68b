import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one process (API and worker share it under `npm start`). Activities count what
 * happens to holds and checkouts where it happens; the API counts requests.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    holds: new Counter({
      name: 'holdfast_holds_total',
      help: 'Add-to-cart outcomes and how holds ended',
      labelNames: ['outcome'] as const, // held, backordered, out_of_stock, expired, removed, purchased
      registers: [registry],
    }),
    checkouts: new Counter({
      name: 'holdfast_checkouts_total',
      help: 'Checkout outcomes',
      labelNames: ['outcome'] as const, // completed, card_declined, payment_failed, out_of_stock, cart_empty
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'holdfast_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
