import { useCallback, useRef, useState } from 'preact/hooks';
import { api, ApiError, describeError, idempotencyKey, unwrap } from '../api';
import type { Cart, Order, Product } from '../api';
import { time } from '../format';
import { usePoll, useUnmountSignal } from '../hooks';
import { load, save } from '../session-store';
import { addLine } from './add-line';
import { CartPanel } from './cart-panel';
import { CheckoutForm } from './checkout-form';
import { OrderPanel } from './order-panel';
import { ProductCard, type ProductMessage } from './product-card';

interface CartSession {
  readonly cartId: string;
  readonly token: string;
}

const cartKey = 'holdfast.cart';
const orderKey = 'holdfast.order';

/** A 401 or 404 on the cart's routes: the cart is gone (expired token, reset store), so start a new one. */
function cartIsGone(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 401 || err.status === 404);
}

export function Storefront() {
  const [products, setProducts] = useState<readonly Product[]>();
  const [productsError, setProductsError] = useState<string>();
  const [session, setSession] = useState(() => load<CartSession>(cartKey));
  const [cart, setCart] = useState<Cart>();
  const [messages, setMessages] = useState<Record<string, ProductMessage>>({});
  const [cartError, setCartError] = useState<string>();
  const [orderId, setOrderId] = useState(() => load<string>(orderKey));
  const [order, setOrder] = useState<Order>();
  const [cartVersion, setCartVersion] = useState(0);
  const creating = useRef<Promise<CartSession>>(undefined);
  const unmounted = useUnmountSignal();

  const changeSession = useCallback((next: CartSession | undefined) => {
    save(cartKey, next);
    setSession(next);
    if (!next) {
      setCart(undefined);
      save(orderKey, undefined);
      setOrderId(undefined);
      setOrder(undefined);
    }
  }, []);
  const refreshCart = () => setCartVersion((v) => v + 1);

  usePoll(async () => {
    try {
      setProducts(unwrap(await api().GET('/v1/products')).products);
      setProductsError(undefined);
    } catch (err) {
      setProductsError(describeError(err));
    }
  }, 2000);

  usePoll(
    async () => {
      if (!session) return;
      try {
        const params = { path: { cartId: session.cartId } };
        setCart(unwrap(await api(session.token).GET('/v1/carts/{cartId}', { params })));
        setCartError(undefined);
      } catch (err) {
        if (cartIsGone(err)) changeSession(undefined);
        else setCartError(describeError(err));
      }
    },
    2000,
    session !== undefined,
    `${session?.cartId}:${cartVersion}`,
  );

  const orderDone = order?.orderId === orderId && order?.status !== 'pending';
  usePoll(
    async () => {
      if (!session || !orderId) return;
      try {
        const params = { path: { orderId } };
        const next = unwrap(await api(session.token).GET('/v1/orders/{orderId}', { params }));
        setOrder(next);
        if (next.status !== 'pending') refreshCart();
      } catch (err) {
        setCartError(describeError(err));
      }
    },
    1000,
    orderId !== undefined && !orderDone,
    orderId,
  );

  /** One cart per browser session, created on the first add; concurrent first adds share it. */
  const ensureSession = (): Promise<CartSession> => {
    if (session) return Promise.resolve(session);
    creating.current ??= api()
      .POST('/v1/carts')
      .then(unwrap)
      .then(
        (created) => {
          changeSession(created);
          creating.current = undefined;
          return created;
        },
        (err: unknown) => {
          creating.current = undefined;
          throw err;
        },
      );
    return creating.current;
  };

  const addToCart = async (sku: string, quantity: number, waitlist: boolean) => {
    const show = (message: ProductMessage) => setMessages((m) => ({ ...m, [sku]: message }));
    show({ kind: 'busy', text: waitlist ? 'Joining the waitlist…' : 'Reserving…' });
    try {
      const s = await ensureSession();
      const answer = await addLine(
        s,
        { sku, quantity, ...(waitlist ? { waitlist } : {}) },
        ({ position }) => show({ kind: 'queued', position }),
        unmounted,
      );
      show(
        answer.status === 'held'
          ? { kind: 'ok', text: `Held for you until ${answer.expiresAt ? time(answer.expiresAt) : 'checkout'}.` }
          : answer.status === 'waitlisted'
            ? {
                kind: 'info',
                text: "You're on the waitlist: when it's back, it is held for you for a short while, in your cart.",
              }
            : { kind: 'info', text: 'Backordered: you are in the queue, and the units are yours when stock arrives.' },
      );
      refreshCart();
    } catch (err) {
      if (unmounted.aborted) return;
      if (cartIsGone(err)) changeSession(undefined);
      show({ kind: 'error', text: describeError(err) });
    }
  };

  const lineAction = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setCartError(undefined);
    } catch (err) {
      setCartError(describeError(err));
    }
    refreshCart();
  };

  const checkout = async (paymentToken: string) => {
    if (!session) return;
    try {
      const { orderId: id } = unwrap(
        await api(session.token).POST('/v1/carts/{cartId}/checkout', {
          params: { path: { cartId: session.cartId }, header: { 'idempotency-key': idempotencyKey() } },
          body: { paymentToken },
        }),
      );
      save(orderKey, id);
      setOrder(undefined);
      setOrderId(id);
      setCartError(undefined);
    } catch (err) {
      setCartError(describeError(err));
    }
  };

  const bySku = new Map(products?.map((p) => [p.sku, p]));
  const checkingOut = orderId !== undefined && !orderDone;
  const pending = cart?.lines.filter((l) => l.status === 'pending') ?? [];

  return (
    <>
      <header class="topbar">
        <div class="brand">
          holdfast <span class="tagline">limited drops, held for you while you check out</span>
        </div>
        <div class="cart-count" data-testid="cart-count">
          {pending.reduce((n, l) => n + l.quantity, 0)} held
        </div>
      </header>
      <main class="layout">
        <section class="products" aria-label="Products">
          <h1>Products</h1>
          {productsError && (
            <p class="notice error" data-testid="products-error">
              {productsError}
            </p>
          )}
          {products?.length === 0 && <p class="muted">Nothing for sale yet.</p>}
          <div class="grid">
            {products?.map((p) => (
              <ProductCard key={p.sku} product={p} message={messages[p.sku]} onAdd={addToCart} />
            ))}
          </div>
        </section>
        <aside class="side">
          <CartPanel
            cart={cart}
            products={bySku}
            error={cartError}
            locked={checkingOut}
            onQuantity={(holdId, quantity) =>
              lineAction(() =>
                api(session!.token)
                  .PATCH('/v1/carts/{cartId}/items/{holdId}', {
                    params: { path: { cartId: session!.cartId, holdId } },
                    body: { quantity },
                  })
                  .then(unwrap),
              )
            }
            onRemove={(holdId) =>
              lineAction(() =>
                api(session!.token)
                  .DELETE('/v1/carts/{cartId}/items/{holdId}', {
                    params: { path: { cartId: session!.cartId, holdId } },
                  })
                  .then(unwrap),
              )
            }
          />
          {pending.length > 0 && !checkingOut && (
            <CheckoutForm lines={pending} products={bySku} onCheckout={checkout} />
          )}
          {orderId && (
            <OrderPanel
              orderId={orderId}
              order={order?.orderId === orderId ? order : undefined}
              onNewCart={() => changeSession(undefined)}
            />
          )}
        </aside>
      </main>
      <footer class="footer">
        <a href="/ops.html">Ops console</a>
      </footer>
    </>
  );
}
