import { useState } from 'preact/hooks';
import { api, ApiError, describeError, unwrap, type Answer, type ApiClient } from '../api';
import type { Backorders, Overview, Product, Reorder, WebhookDelivery, WebhookEndpoint } from '../api';
import { usePoll } from '../hooks';
import { load, save } from '../session-store';
import { BackorderQueues } from './backorder-queues';
import { NewProductForm } from './new-product-form';
import { RecentRuns } from './recent-runs';
import { ReordersTable } from './reorders-table';
import { StockTable } from './stock-table';
import { TokenForm } from './token-form';
import { WebhooksPanel } from './webhooks-panel';

const tokenKey = 'holdfast.opsToken';

/** One call of the API with the ops token: its data, or an ApiError (a refused token signs out). */
export type OpsCall = <T>(send: (api: ApiClient) => Promise<Answer<T>>) => Promise<T>;
/** Runs an ops action: reports how it went and refreshes the console. */
export type RunAction = (done: string, action: () => Promise<unknown>) => Promise<boolean>;

interface Notice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

interface Snapshot {
  readonly products?: readonly Product[];
  readonly reorders?: readonly Reorder[];
  readonly overview?: Overview;
  readonly backorders: ReadonlyMap<string, Backorders>;
  readonly webhooks?: readonly WebhookEndpoint[];
  readonly deliveries: ReadonlyMap<string, readonly WebhookDelivery[]>;
  readonly errors: readonly string[];
}

function refused(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 401 || err.status === 403);
}

export function OpsConsole() {
  const [token, setToken] = useState(() => load<string>(tokenKey));
  const [tokenRefused, setTokenRefused] = useState(false);
  const [snapshot, setSnapshot] = useState<Snapshot>({ backorders: new Map(), deliveries: new Map(), errors: [] });
  const [notice, setNotice] = useState<Notice>();
  const [version, setVersion] = useState(0);

  const signOut = (wasRefused: boolean) => {
    save(tokenKey, undefined);
    setToken(undefined);
    setTokenRefused(wasRefused);
    setSnapshot({ backorders: new Map(), deliveries: new Map(), errors: [] });
  };

  const call: OpsCall = async (send) => {
    try {
      return unwrap(await send(api(token)));
    } catch (err) {
      if (refused(err)) signOut(true);
      throw err;
    }
  };

  usePoll(
    async () => {
      const [products, reorders, overview, webhooks] = await Promise.allSettled([
        api()
          .GET('/v1/products')
          .then((answer) => unwrap(answer).products),
        call((ops) => ops.GET('/v1/reorders')).then((r) => r.reorders),
        call((ops) => ops.GET('/v1/ops/overview')),
        call((ops) => ops.GET('/v1/ops/webhooks')).then((w) => w.endpoints),
      ]);
      const endpoints = webhooks.status === 'fulfilled' ? webhooks.value : [];
      const deliveries = await Promise.allSettled(
        endpoints.map((e) =>
          call((ops) => ops.GET('/v1/ops/webhooks/{id}/deliveries', { params: { path: { id: e.id } } })).then(
            (d) => [e.id, d.deliveries] as const,
          ),
        ),
      );
      // Backorder products and waitlists (strict ones with an offer window) are served by the same queue.
      const queued =
        products.status === 'fulfilled'
          ? products.value.filter((p) => p.policy === 'backorder' || p.offerSeconds !== undefined)
          : [];
      const queues = await Promise.allSettled(
        queued.map((p) =>
          call((ops) => ops.GET('/v1/products/{sku}/backorders', { params: { path: { sku: p.sku } } })),
        ),
      );
      const results = [products, reorders, overview, webhooks, ...queues, ...deliveries];
      if (results.some((r) => r.status === 'rejected' && refused(r.reason))) return;
      setSnapshot({
        products: products.status === 'fulfilled' ? products.value : snapshot.products,
        reorders: reorders.status === 'fulfilled' ? reorders.value : snapshot.reorders,
        overview: overview.status === 'fulfilled' ? overview.value : snapshot.overview,
        backorders: new Map(queues.flatMap((q) => (q.status === 'fulfilled' ? [[q.value.sku, q.value]] : []))),
        webhooks: webhooks.status === 'fulfilled' ? webhooks.value : snapshot.webhooks,
        deliveries: new Map(deliveries.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []))),
        errors: [...new Set(results.flatMap((r) => (r.status === 'rejected' ? [describeError(r.reason)] : [])))],
      });
    },
    2000,
    token !== undefined,
    `${token}:${version}`,
  );

  const run: RunAction = async (done, action) => {
    try {
      await action();
      setNotice({ kind: 'ok', text: done });
      return true;
    } catch (err) {
      setNotice({ kind: 'error', text: describeError(err) });
      return false;
    } finally {
      setVersion((v) => v + 1);
    }
  };

  if (!token) {
    return (
      <TokenForm
        refused={tokenRefused}
        onToken={(t) => {
          save(tokenKey, t);
          setToken(t);
        }}
      />
    );
  }

  const { products, reorders, overview, backorders, webhooks, deliveries, errors } = snapshot;
  return (
    <>
      <header class="topbar">
        <div class="brand">
          holdfast <span class="tagline">ops console</span>
        </div>
        <nav class="topnav">
          {overview && (
            <a href={overview.temporalUiUrl} target="_blank" rel="noreferrer" data-testid="temporal-ui">
              Temporal Web UI ↗
            </a>
          )}
          <a href="/">Storefront</a>
          <button type="button" class="link" onClick={() => signOut(false)}>
            Sign out
          </button>
        </nav>
      </header>
      <main class="ops-main">
        {notice && (
          <p class={`notice ${notice.kind}`} data-testid="ops-notice" data-kind={notice.kind} role="status">
            {notice.text}
          </p>
        )}
        {errors.map((e) => (
          <p key={e} class="notice error" data-testid="ops-error">
            {e}
          </p>
        ))}
        <ReordersTable reorders={reorders} call={call} run={run} />
        <StockTable
          products={products}
          refusals={new Map(overview?.soldOutRefusals.map((r) => [r.sku, r.count]))}
          call={call}
          run={run}
        />
        <BackorderQueues
          queues={[...backorders.values()]}
          waitlists={new Set((products ?? []).filter((p) => p.offerSeconds !== undefined).map((p) => p.sku))}
          call={call}
          run={run}
        />
        <WebhooksPanel endpoints={webhooks} deliveries={deliveries} call={call} run={run} />
        <div class="two-col">
          <NewProductForm call={call} run={run} />
          <RecentRuns overview={overview} />
        </div>
      </main>
    </>
  );
}
