import { BackorderQueue } from './backorders';
import { CartLine, Hold, Queued } from './carts';
import { ErrorBody } from './errors';
import { Readiness } from './health';
import { InvariantReport, Overview, SystemReport } from './ops-reports';
import { Order } from './orders';
import { ProductView } from './products';
import { Reorder } from './reorders';
import { WebhookEndpoint } from './webhooks';

/**
 * The schemas with an `$id`: the OpenAPI document's named components, registered once with `app.addSchema` in
 * an order where each is defined before it is referenced, and referenced with `ref()`.
 */
export const sharedSchemas = [
  ErrorBody,
  Hold,
  Queued,
  CartLine,
  Order,
  ProductView,
  InvariantReport,
  SystemReport,
  Reorder,
  BackorderQueue,
  Overview,
  Readiness,
  WebhookEndpoint,
] as const;
