/**
 * The storefront and the ops console in Debian's Chromium, against the real API, worker, Temporal dev server and
 * FerretDB of the test run. Every wait is on UI state (Playwright's auto-waiting locators), never a sleep.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, ops, opsToken, startTestApi, type TestApi } from '../api-helpers';
import { uniqueId } from '../helpers';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const screenshots = path.join(repoRoot, 'test-results', 'screenshots');
const chromiumPath = '/usr/bin/chromium'; // Debian's package: `apt-get install chromium`
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('storefront and ops console in a browser', () => {
  let api: TestApi;
  let baseUrl: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function createProduct(body: Record<string, unknown>): Promise<void> {
    const res = await api.app.inject({ method: 'POST', url: '/v1/products', headers: ops, payload: body });
    expect(res.statusCode, res.body).toBe(201);
  }

  async function newPage(width = 1280, height = 640): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height } });
    context.setDefaultTimeout(25_000);
    contexts.push(context);
    return context.newPage();
  }

  /**
   * Saves a full-page screenshot to test-results/screenshots. With `docsImage`, also to docs/img (the README's
   * pictures) when that file is missing: delete it to take a new one, so test runs leave the tree clean.
   */
  async function screenshot(page: Page, name: string, docsImage?: string): Promise<void> {
    const file = path.join(screenshots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const docsFile = docsImage && path.join(repoRoot, 'docs', 'img', docsImage);
    if (docsFile && !existsSync(docsFile)) await copyFile(file, docsFile);
  }

  /** A shopper adds `quantity` of `sku` to the cart and pays with the test card that succeeds. */
  async function buy(page: Page, sku: string, quantity: number): Promise<void> {
    const card = page.getByTestId(`product-${sku}`);
    await card.getByTestId('quantity').fill(String(quantity));
    await card.getByTestId('add-to-cart').click();
    await page.locator(`[data-testid="cart-line"][data-sku="${sku}"][data-status="pending"]`).waitFor();
    await page.getByTestId('payment-token').selectOption('tok_visa');
    await page.getByTestId('place-order').click();
    await page.locator('[data-testid="order-status"][data-status="completed"]').waitFor();
  }

  beforeAll(async () => {
    // The API serves web/dist only when it exists when the app is built.
    await build({ configFile: path.join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn' });
    [api, browser] = await Promise.all([
      startTestApi(),
      chromium.launch({ executablePath: chromiumPath, args: chromiumArgs }),
    ]);
    baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
    await mkdir(screenshots, { recursive: true });
    // A small catalog around each test's own product, so the pages look like a store.
    await createProduct({ sku: uniqueId('pin'), name: 'Enamel pin', priceCents: 900, quantity: 40, policy: 'strict' });
    await createProduct({
      sku: uniqueId('poster'),
      name: 'Tour poster (reprint)',
      priceCents: 2500,
      quantity: 0,
      policy: 'backorder',
    });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await api?.close();
  });

  it('two shoppers want the last unit: A holds it with a countdown, B is told it is sold out, A buys it', async () => {
    const sku = uniqueId('print');
    await createProduct({ sku, name: 'Signed print', priceCents: 4900, quantity: 1, policy: 'strict', buckets: 1 });
    const [shopperA, shopperB] = await Promise.all([newPage(), newPage()]);
    await Promise.all([shopperA.goto(baseUrl), shopperB.goto(baseUrl)]);

    await shopperA.getByTestId(`product-${sku}`).getByTestId('add-to-cart').click();
    const lineA = shopperA.locator(`[data-testid="cart-line"][data-sku="${sku}"]`);
    await lineA.and(shopperA.locator('[data-status="pending"]')).waitFor();
    // Held for the API's 600 s hold TTL: the countdown starts near 10:00.
    expect(await lineA.getByTestId('countdown').textContent()).toMatch(/^(10:00|9:[0-5]\d)$/);
    await shopperA.locator(`[data-testid="product-${sku}"] [data-testid="availability"][data-available="0"]`).waitFor();
    await screenshot(shopperA, 'storefront-a-holds-last-unit', 'storefront.png');

    const cardB = shopperB.getByTestId(`product-${sku}`);
    await cardB.getByTestId('add-to-cart').click();
    const refusal = cardB.locator('[data-testid="product-message"][data-kind="error"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('Sold out');
    await cardB.locator('[data-testid="availability"][data-available="0"]').waitFor();
    expect(await shopperB.getByTestId('cart-line').count()).toBe(0);
    await screenshot(shopperB, 'storefront-b-sold-out');

    await shopperA.getByTestId('payment-token').selectOption('tok_visa');
    await shopperA.getByTestId('place-order').click();
    await shopperA.locator('[data-testid="order-status"][data-status="completed"]').waitFor();
    await lineA.and(shopperA.locator('[data-status="purchased"]')).waitFor();
    expect(await shopperA.getByTestId('order-status').textContent()).toContain('$49.00');
    await screenshot(shopperA, 'storefront-a-order-complete');

    const product = (await api.app.inject({ method: 'GET', url: `/v1/products/${sku}` })).json();
    expect(product).toMatchObject({ available: 0, reserved: 0, sold: 1 });

    // B was refused by the API at once (no workflow): ops see it counted beside the stock.
    const opsPage = await newPage(1440, 1000);
    await opsPage.goto(`${baseUrl}/ops.html`);
    await opsPage.getByTestId('ops-token').fill(opsToken);
    await opsPage.getByTestId('ops-sign-in').click();
    await opsPage.getByTestId(`stock-${sku}`).getByTestId('stock-refused').filter({ hasText: /^1$/ }).waitFor();
  });

  it('a sold-out product with a waitlist offers "Notify me"; after a restock the cart shows the offered hold', async () => {
    const sku = uniqueId('vinyl');
    await createProduct({
      sku,
      name: 'Pressing of 300',
      priceCents: 3500,
      quantity: 0,
      policy: 'strict',
      offerSeconds: 120,
    });
    const shopper = await newPage();
    await shopper.goto(baseUrl);
    const card = shopper.getByTestId(`product-${sku}`);
    await card.getByTestId('notify-me').click();
    const line = shopper.locator(`[data-testid="cart-line"][data-sku="${sku}"]`);
    await line.and(shopper.locator('[data-status="waitlisted"]')).waitFor();
    expect(await line.getByTestId('line-status').textContent()).toBe('on the waitlist');
    await card.locator('[data-testid="product-message"][data-kind="info"]').waitFor();
    await screenshot(shopper, 'storefront-waitlisted');
    // Ops see the waiter in the product's waitlist, as they see a backorder queue.
    const opsPage = await newPage(1440, 1000);
    await opsPage.goto(`${baseUrl}/ops.html`);
    await opsPage.getByTestId('ops-token').fill(opsToken);
    await opsPage.getByTestId('ops-sign-in').click();
    const waitlist = opsPage.locator(`[data-testid="backorders-${sku}"][data-kind="waitlist"]`);
    await waitlist
      .locator(`[data-testid="backorder"][data-hold-id="${await line.getAttribute('data-hold-id')}"]`)
      .waitFor();

    const restocked = await api.app.inject({
      method: 'POST',
      url: `/v1/products/${sku}/restock`,
      headers: { ...ops, 'idempotency-key': uniqueId('restock') },
      payload: { quantity: 1 },
    });
    expect(restocked.statusCode).toBe(202);
    // The cart polls: the line becomes the offer, held for the product's 120 s window, not the cart's 600 s.
    await line.and(shopper.locator('[data-status="pending"]')).waitFor();
    await line.getByTestId('offer').waitFor();
    expect(await line.getByTestId('line-status').textContent()).toBe('offered to you');
    expect(await line.getByTestId('countdown').textContent()).toMatch(/^(2:00|1:[0-5]\d)$/);
    await screenshot(shopper, 'storefront-offered-hold');
    // The restocked unit is the waiter's: the product still shows nothing available to anyone else.
    await card.locator('[data-testid="availability"][data-available="0"]').waitFor();
    // Offered, the line has left the waitlist.
    await waitlist.getByTestId('backorder').waitFor({ state: 'detached' });
  });

  it('ops: a purchase below the low-stock threshold asks for a reorder; approve, then receive restocks', async () => {
    const sku = uniqueId('mug');
    const opsPage = await newPage(1440, 1000);
    await opsPage.goto(`${baseUrl}/ops.html`);
    await opsPage.getByTestId('ops-token').fill(opsToken);
    await opsPage.getByTestId('ops-sign-in').click();

    await opsPage.getByTestId('new-sku').fill(sku);
    await opsPage.getByTestId('new-name').fill('Stoneware mug');
    await opsPage.getByTestId('new-price').fill('1800');
    await opsPage.getByTestId('new-quantity').fill('3');
    await opsPage.getByTestId('new-threshold').fill('2');
    await opsPage.getByTestId('new-reorder-quantity').fill('10');
    await opsPage.getByTestId('create-product').click();
    const stock = opsPage.getByTestId(`stock-${sku}`);
    await stock.getByTestId('stock-available').filter({ hasText: /^3$/ }).waitFor();

    // 3 - 2 = 1 available, below the threshold of 2.
    const shopper = await newPage();
    await shopper.goto(baseUrl);
    await buy(shopper, sku, 2);

    const reorder = opsPage.getByTestId(`reorder-${sku}`);
    await reorder.and(opsPage.locator('[data-status="awaiting_approval"]')).waitFor();
    expect(await reorder.locator('td').nth(3).textContent()).toBe('1'); // available at request
    expect(await reorder.getByTestId('run-link').getAttribute('href')).toBe(
      `http://127.0.0.1:8233/namespaces/default/workflows/reorder-${sku}`,
    );
    await stock.getByTestId('stock-sold').filter({ hasText: /^2$/ }).waitFor();
    // Other test files share the Temporal namespace, so the newest orders need not be this test's.
    const orderLink = opsPage.locator('[data-testid="recent-order"] [data-testid="run-link"]').first();
    expect(await orderLink.getAttribute('href')).toMatch(
      /^http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/checkout-/,
    );
    await screenshot(opsPage, 'ops-reorder-awaiting-approval', 'ops-console.png');

    await reorder.getByTestId('approve').click();
    await reorder.and(opsPage.locator('[data-status="approved"]')).waitFor();
    await opsPage.locator('[data-testid="ops-notice"][data-kind="ok"]').waitFor();
    await screenshot(opsPage, 'ops-reorder-approved');

    await reorder.getByTestId('receive').click();
    await stock.getByTestId('stock-available').filter({ hasText: /^11$/ }).waitFor();
    await screenshot(opsPage, 'ops-reorder-received');
  });

  it('a queued shopper sees their position in the line of a drop, then the hold', async () => {
    const sku = uniqueId('drop');
    await createProduct({
      sku,
      name: 'Sneaker drop',
      priceCents: 12000,
      quantity: 5,
      policy: 'strict',
      admitPerSecond: 1,
    });
    const shopper = await newPage();
    await shopper.goto(baseUrl);
    const card = shopper.getByTestId(`product-${sku}`);
    await card.getByTestId('drop-badge').waitFor();

    // Lines ahead, through the API, all asking at once: the gate's one immediate place, and three that wait
    // (and never ask again). The gate lets one place a second through, counting time only from when the one
    // asking began to wait: so the shopper, however late it asks, waits behind the three, and is let in a few
    // seconds later, when it asks again.
    const created = await api.app.inject({ method: 'POST', url: '/v1/carts' });
    expect(created.statusCode, created.body).toBe(201);
    const cart = created.json() as { cartId: string; token: string };
    const ahead = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        api.app.inject({
          method: 'POST',
          url: `/v1/carts/${cart.cartId}/items`,
          headers: { ...bearer(cart.token), 'idempotency-key': `ahead-${i}` },
          payload: { sku, quantity: 1 },
        }),
      ),
    );
    expect(ahead.map((r) => r.statusCode).sort()).toEqual([201, 202, 202, 202]);

    await card.getByTestId('add-to-cart').click();
    await card.getByTestId('queue-position').filter({ hasText: /^\d+$/ }).waitFor();
    await screenshot(shopper, 'storefront-queued-position');

    const held = card.locator('[data-testid="product-message"][data-kind="ok"]');
    await held.waitFor();
    expect(await held.textContent()).toContain('Held for you');
    await shopper.locator(`[data-testid="cart-line"][data-sku="${sku}"][data-status="pending"]`).waitFor();
    await screenshot(shopper, 'storefront-queued-then-held');
  });

  it('ops reorders and cancels backorders; a restock fills the one moved first', async () => {
    const sku = uniqueId('vinyl');
    await createProduct({ sku, name: 'Test pressing', priceCents: 3500, quantity: 0, policy: 'backorder', buckets: 1 });
    const shoppers = [await newPage(), await newPage()];
    const holdIds: string[] = [];
    for (const page of shoppers) {
      await page.goto(baseUrl);
      const card = page.getByTestId(`product-${sku}`);
      await card.getByTestId('add-to-cart').click();
      await card.locator('[data-testid="product-message"][data-kind="info"]').waitFor();
      const line = page.locator(`[data-testid="cart-line"][data-sku="${sku}"][data-status="backordered"]`);
      holdIds.push((await line.getAttribute('data-hold-id'))!);
    }
    const [first, second] = holdIds as [string, string];

    const opsPage = await newPage(1440, 1000);
    await opsPage.goto(`${baseUrl}/ops.html`);
    await opsPage.getByTestId('ops-token').fill(opsToken);
    await opsPage.getByTestId('ops-sign-in').click();
    const queue = opsPage.getByTestId(`backorders-${sku}`).getByTestId('backorder');
    await queue
      .nth(1)
      .and(opsPage.locator(`[data-hold-id="${second}"]`))
      .waitFor();

    await queue.nth(1).getByTestId('backorder-first').click();
    await queue
      .nth(0)
      .and(opsPage.locator(`[data-hold-id="${second}"]`))
      .waitFor();
    await queue.nth(1).getByTestId('backorder-cancel').click();
    await opsPage.locator(`[data-testid="backorder"][data-hold-id="${first}"]`).waitFor({ state: 'detached' });
    await screenshot(opsPage, 'ops-backorder-queue');

    await opsPage.getByTestId(`stock-${sku}`).getByTestId('restock-quantity').fill('1');
    await opsPage.getByTestId(`stock-${sku}`).getByTestId('restock').click();
    await queue.first().waitFor({ state: 'detached' });
    await shoppers[1]!.locator(`[data-testid="cart-line"][data-hold-id="${second}"][data-status="pending"]`).waitFor();
    await shoppers[0]!.locator(`[data-testid="cart-line"][data-hold-id="${first}"]`).waitFor({ state: 'detached' });
  });

  it('ops add a webhook; the console shows its deliveries, the retries, and redelivers one', async () => {
    // A receiver on loopback that refuses its first two requests.
    const received: string[] = [];
    let requests = 0;
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        requests++;
        if (requests <= 2) return void res.writeHead(503).end();
        received.push((JSON.parse(body) as { id: string }).id);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/orders`;
    try {
      const opsPage = await newPage(1440, 1200);
      await opsPage.goto(`${baseUrl}/ops.html`);
      await opsPage.getByTestId('ops-token').fill(opsToken);
      await opsPage.getByTestId('ops-sign-in').click();
      await opsPage.getByTestId('webhook-url').fill(hookUrl);
      await opsPage.getByTestId('webhook-events').fill('order.completed');
      await opsPage.getByTestId('webhook-add').click();
      await opsPage
        .getByTestId('webhook-secret')
        .filter({ hasText: /whsec_/ })
        .waitFor();

      const sku = uniqueId('tote');
      await createProduct({ sku, name: 'Canvas tote', priceCents: 1200, quantity: 5, policy: 'strict' });
      const shopper = await newPage();
      await shopper.goto(baseUrl);
      await buy(shopper, sku, 1);

      const delivery = opsPage.locator('[data-testid="webhook-delivery"][data-status="delivered"]');
      await delivery.waitFor();
      // Two refusals, then the receiver's 200: three attempts.
      expect(await delivery.getByTestId('delivery-attempts').textContent()).toBe('3');
      expect(received).toHaveLength(1);
      await screenshot(opsPage, 'ops-webhooks');

      await delivery.getByTestId('redeliver').click();
      await opsPage.locator('[data-testid="ops-notice"][data-kind="ok"]').filter({ hasText: /again/ }).waitFor();
      await delivery.getByTestId('delivery-attempts').filter({ hasText: /^4$/ }).waitFor();
      expect(received).toEqual([received[0], received[0]]);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
