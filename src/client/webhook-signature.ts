/**
 * Verifies a holdfast webhook request, for receivers (Node 20+, Deno, Bun, browsers: Web Crypto only):
 *
 *   const ok = await verifyWebhookSignature({
 *     secret: process.env.HOLDFAST_WEBHOOK_SECRET,
 *     header: request.headers['holdfast-signature'],
 *     body: rawBody, // the request body exactly as received, before any JSON parse
 *   });
 *
 * The header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. A request is genuine when one of its
 * `v1` signatures matches and `t` is within `toleranceSeconds` of now (a replay of an old request fails). Drop
 * a repeat by its `Holdfast-Event-Id` header: a delivery may be sent more than once.
 */
export async function verifyWebhookSignature(options: {
  readonly secret: string;
  readonly header: string | null | undefined;
  readonly body: string;
  /** Default 300 s. */
  readonly toleranceSeconds?: number;
  /** Unix seconds; default now. */
  readonly now?: number;
}): Promise<boolean> {
  const { secret, header, body } = options;
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const signatures = parts.filter(([k, v]) => k === 'v1' && v !== undefined).map(([, v]) => v!);
  if (t === undefined || !/^\d{1,12}$/.test(t) || signatures.length === 0) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(t)) > (options.toleranceSeconds ?? 300)) return false;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`${t}.${body}`)));
  const expected = Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
  return signatures.some((s) => sameText(s.toLowerCase(), expected));
}

/** Compares in time independent of where two strings differ (a signature must not leak by timing). */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
