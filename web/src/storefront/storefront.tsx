import { useCallback, useRef, useState } from 'preact/hooks';
import { ApiError, describeError, idempotencyKey, request } from '../api';
import type { Cart, HoldAnswer, Order, Product } from '../api';
import { time } from '../format';
import { usePoll } from '../hooks';
import { load, save } from '../session-store';
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
      setProducts((await request<{ products: Product[] }>('GET', '/v1/products')).products);
      setProductsError(undefined);
    } catch (err) {
      setProductsError(describeError(err));
    }
  }, 2000);

  usePoll(
    async () => {
      if (!session) return;
      try {
        setCart(await request<Cart>('GET', `/v1/carts/${session.cartId}`, { token: session.token }));
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
        const next = await request<Order>('GET', `/v1/orders/${orderId}`, { token: session.token });
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
    creating.current ??= request<CartSession>('POST', '/v1/carts').then(
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

  const addToCart = async (sku: string, quantity: number) => {
    setMessages((m) => ({ ...m, [sku]: { kind: 'busy', text: 'Reserving…' } }));
    let message: ProductMessage;
    try {
      const s = await ensureSession();
      const answer = await request<HoldAnswer>('POST', `/v1/carts/${s.cartId}/items`, {
        token: s.token,
        body: { sku, quantity },
        idempotencyKey: idempotencyKey(),
      });
      message =
        answer.status === 'held'
          ? { kind: 'ok', text: `Held for you until ${answer.expiresAt ? time(answer.expiresAt) : 'checkout'}.` }
          : { kind: 'info', text: 'Backordered: you are in the queue, and the units are yours when stock arrives.' };
      refreshCart();
    } catch (err) {
      if (cartIsGone(err)) changeSession(undefined);
      message = { kind: 'error', text: describeError(err) };
    }
    setMessages((m) => ({ ...m, [sku]: message }));
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
      const { orderId: id } = await request<{ orderId: string }>('POST', `/v1/carts/${session.cartId}/checkout`, {
        token: session.token,
        body: { paymentToken },
        idempotencyKey: idempotencyKey(),
      });
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
                request('PATCH', `/v1/carts/${session!.cartId}/items/${holdId}`, {
                  token: session!.token,
                  body: { quantity },
                }),
              )
            }
            onRemove={(holdId) =>
              lineAction(() =>
                request('DELETE', `/v1/carts/${session!.cartId}/items/${holdId}`, { token: session!.token }),
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
