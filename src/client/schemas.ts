import type { components, operations } from './openapi';

/** Every named schema of the OpenAPI document. */
export type Schemas = components['schemas'];

/** The JSON body of an operation's answer with this status. */
export type ResponseBody<
  Operation extends keyof operations,
  Status extends keyof operations[Operation]['responses'],
> = operations[Operation]['responses'][Status] extends { content: { 'application/json': infer Body } } ? Body : never;

/** The JSON body an operation takes. */
export type RequestBody<Operation extends keyof operations> = operations[Operation] extends {
  requestBody?: { content: { 'application/json': infer Body } };
}
  ? Body
  : never;

/** The API's error body: `{ error, message, requestId }`. */
export type ErrorBody = Schemas['Error'];
export type ErrorCode = ErrorBody['error'];
/** A product as GET /v1/products/{sku} shows it: the catalog entry with live stock. */
export type ProductView = Schemas['Product'];
export type NewProduct = RequestBody<'createProduct'>;
export type StockState = RequestBody<'moveProductStock'>['from'];
/** A new cart and the bearer token its routes need. */
export type NewCart = ResponseBody<'createCart', 201>;
export type CartView = ResponseBody<'getCart', 200>;
export type CartLine = Schemas['CartLine'];
/** What add-to-cart, a quantity change or a removal answers about a line. */
export type Hold = Schemas['Hold'];
export type Queued = Schemas['Queued'];
export type Order = Schemas['Order'];
export type InvariantReport = Schemas['InvariantReport'];
export type SystemReport = Schemas['SystemReport'];
export type Reorder = Schemas['Reorder'];
export type BackorderQueue = Schemas['BackorderQueue'];
export type Overview = Schemas['Overview'];
export type Readiness = Schemas['Readiness'];
export type WebhookEndpoint = Schemas['WebhookEndpoint'];
export type NewWebhook = RequestBody<'createWebhook'>;
export type WebhookDelivery = ResponseBody<'listWebhookDeliveries', 200>['deliveries'][number];
