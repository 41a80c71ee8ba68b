import { createHmac } from 'node:crypto';

/** The header a webhook request is signed in. */
export const signatureHeader = 'Holdfast-Signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the endpoint's secret>`, as Stripe signs: the
 * time is signed with the body, so a receiver that checks it within a tolerance refuses a replayed request.
 * Receivers verify with `verifyWebhookSignature` (src/client).
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
