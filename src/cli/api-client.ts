import {
  createApiClient,
  unwrap,
  type Answer,
  type ApiClient as TypedClient,
  type NewProduct,
  type NewWebhook,
  type Reorder,
  type StockState,
} from '../client';

export { ApiError, type NewProduct, type ProductView } from '../client';

export type OpenReorder = Reorder;
export type ReorderAction = 'approve' | 'reject' | 'receive';

const requestTimeoutMs = 60_000;

/**
 * The HTTP API as the CLI uses it: one method per route, over the typed client, no retries. Every write carries
 * `idempotencyKey` as its Idempotency-Key: one client makes one write (one command line), and sending it again
 * with the same key is how an operator retries it without doing it twice. Failures are ApiErrors.
 */
export class ApiClient {
  private readonly api: TypedClient;

  constructor(
    baseUrl: string,
    token: string | undefined,
    private readonly idempotencyKey?: string,
  ) {
    this.api = createApiClient({ baseUrl, token, timeoutMs: requestTimeoutMs });
  }

  async listProducts() {
    return unwrap(await this.api.GET('/v1/products'));
  }

  async product(sku: string) {
    return unwrap(await this.api.GET('/v1/products/{sku}', { params: { path: { sku } } }));
  }

  async createProduct(product: NewProduct) {
    return unwrap(await this.api.POST('/v1/products', { body: product, headers: this.write }));
  }

  async restock(sku: string, quantity: number) {
    const params = { path: { sku }, header: this.keyed };
    return unwrap(await this.api.POST('/v1/products/{sku}/restock', { params, body: { quantity } }));
  }

  async move(sku: string, quantity: number, from: StockState, to: StockState) {
    const params = { path: { sku }, header: this.keyed };
    return unwrap(await this.api.POST('/v1/products/{sku}/moves', { params, body: { quantity, from, to } }));
  }

  async backorders(sku: string) {
    return unwrap(await this.api.GET('/v1/products/{sku}/backorders', { params: { path: { sku } } }));
  }

  async cancelBackorder(sku: string, holdId: string) {
    const params = { path: { sku, holdId } };
    return unwrap(await this.api.DELETE('/v1/products/{sku}/backorders/{holdId}', { params, headers: this.write }));
  }

  async moveBackorder(sku: string, holdId: string, position: number) {
    return unwrap(
      await this.api.POST('/v1/products/{sku}/backorders/{holdId}/position', {
        params: { path: { sku, holdId } },
        body: { position },
        headers: this.write,
      }),
    );
  }

  async reorders() {
    return unwrap(await this.api.GET('/v1/reorders'));
  }

  async decideReorder(action: ReorderAction, sku: string, body: { quantity?: number; reason?: string }) {
    const init = { params: { path: { sku } }, body, headers: this.write };
    const answers: Record<ReorderAction, () => Promise<Answer<Reorder>>> = {
      approve: () => this.api.POST('/v1/reorders/{sku}/approve', init),
      reject: () => this.api.POST('/v1/reorders/{sku}/reject', init),
      receive: () => this.api.POST('/v1/reorders/{sku}/receive', init),
    };
    return unwrap(await answers[action]());
  }

  async webhooks() {
    return unwrap(await this.api.GET('/v1/ops/webhooks'));
  }

  async addWebhook(body: NewWebhook) {
    return unwrap(await this.api.POST('/v1/ops/webhooks', { body, headers: this.write }));
  }

  async removeWebhook(id: string) {
    return unwrap(await this.api.DELETE('/v1/ops/webhooks/{id}', { params: { path: { id } }, headers: this.write }));
  }

  async webhookDeliveries(id: string) {
    return unwrap(await this.api.GET('/v1/ops/webhooks/{id}/deliveries', { params: { path: { id } } }));
  }

  async redeliverWebhook(id: string, eventId: string) {
    const params = { path: { id, eventId } };
    return unwrap(
      await this.api.POST('/v1/ops/webhooks/{id}/deliveries/{eventId}/redeliver', { params, headers: this.write }),
    );
  }

  async invariants(sku: string) {
    return unwrap(await this.api.GET('/v1/ops/invariants/{sku}', { params: { path: { sku } } }));
  }

  /** The system check; exits 1 in the CLI when it finds violations, so the report is an answer, not an error. */
  async check() {
    return unwrap(await this.api.GET('/v1/ops/check'));
  }

  /** The Idempotency-Key header of a write, when the command line has one (seed's writes have none). */
  private get write(): Record<string, string> {
    return this.idempotencyKey === undefined ? {} : { 'idempotency-key': this.idempotencyKey };
  }

  /** The same, for the routes whose schema requires it (main.ts gives every write command a key). */
  private get keyed(): { 'idempotency-key': string } {
    if (this.idempotencyKey === undefined) throw new Error('this write needs an Idempotency-Key');
    return { 'idempotency-key': this.idempotencyKey };
  }
}
