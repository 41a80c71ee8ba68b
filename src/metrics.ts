import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsOptions {
  /**
   * The Temporal SDK's own Prometheus exporter (see installWorkerRuntime): its metrics are appended to this
   * registry's, so one scrape (the API's /metrics, the worker's) gets holdfast's and the SDK's together.
   */
  readonly sdkMetricsUrl?: string;
}

/**
 * Prometheus metrics of one process (API and worker share it under `npm start`). Activities count what
 * happens to holds and checkouts where it happens; the API counts requests.
 */
export function createMetrics(options: MetricsOptions = {}) {
  const registry = options.sdkMetricsUrl ? new RegistryWithSdkMetrics(options.sdkMetricsUrl) : new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    holds: new Counter({
      name: 'holdfast_holds_total',
      help: 'Add-to-cart outcomes and how holds ended',
      labelNames: ['outcome'] as const, // held, backordered, out_of_stock, expired, removed, purchased
      registers: [registry],
    }),
    soldOutRefusals: new Counter({
      name: 'holdfast_sold_out_refusals_total',
      help: 'Add-to-carts refused by the API from the ledger heads, without a workflow (the SKU had too few units)',
      labelNames: ['sku'] as const,
      registers: [registry],
    }),
    waitingRoom: new Counter({
      name: 'holdfast_waiting_room_answers_total',
      help: "Add-to-carts of a drop's SKU answered by its waiting room: queued (told their position) or admitted",
      labelNames: ['sku', 'outcome'] as const,
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

/**
 * The SDK's metrics live in its native core, which exports them only through its own HTTP endpoint: this
 * registry's exposition ends with that endpoint's text, scraped at the same moment.
 */
class RegistryWithSdkMetrics extends Registry {
  constructor(private readonly sdkMetricsUrl: string) {
    super();
  }

  override async metrics(): Promise<string> {
    const [ours, sdk] = await Promise.all([super.metrics(), this.sdkMetrics()]);
    return `${ours}\n${sdk}`;
  }

  private async sdkMetrics(): Promise<string> {
    try {
      const response = await fetch(this.sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) return await response.text();
      return `# Temporal SDK metrics unavailable: HTTP ${response.status}\n`;
    } catch (err) {
      return `# Temporal SDK metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`;
    }
  }
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the registry at http://host:port/metrics (the worker's endpoint: `npm run worker` has no API). */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
