import { ApiError, api, idempotencyKey, unwrap, type HoldAnswer, type NewCart, type Queued } from '../api';

/** Answers that decided nothing (503, or a 5xx in flight) asked again under the same key before giving up. */
const undecidedRetries = 5;

/**
 * Adds a line to the cart. A drop's waiting room answers queued until it lets the line in: the same request
 * (same Idempotency-Key and body) is sent again after Retry-After, so the line keeps its place; `onQueued` hears
 * each position. A 5xx decided nothing: it is asked again under the same key (a new key would be a new place at
 * the back), a few times. Rejects with the signal's reason once it aborts.
 */
export async function addLine(
  cart: NewCart,
  line: { readonly sku: string; readonly quantity: number; readonly waitlist?: boolean },
  onQueued: (queued: Queued) => void,
  signal: AbortSignal,
): Promise<HoldAnswer> {
  const params = { path: { cartId: cart.cartId }, header: { 'idempotency-key': idempotencyKey() } };
  for (let undecided = 0; ;) {
    let answer: HoldAnswer | Queued;
    try {
      answer = unwrap(await api(cart.token).POST('/v1/carts/{cartId}/items', { params, body: line, signal }));
    } catch (err) {
      if (!(err instanceof ApiError && err.status >= 500) || ++undecided > undecidedRetries) throw err;
      await delay(1000 * undecided, signal);
      continue;
    }
    if (answer.status !== 'queued') return answer;
    onQueued(answer);
    await delay(answer.retryAfterSeconds * 1000, signal);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
