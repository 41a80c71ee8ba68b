import { CartLineStore, CartStore } from '../../carts';
import { Cart, CartParams, CreatedCart, described, errorResponses, locationHeader } from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';

/** A shopper's cart: creating it with its token, and reading its lines. */
export async function cartRoutes(app: HttpApp, ctx: RouteContext) {
  const { shards } = ctx;
  const security = [{ bearer: [] }];
  const carts = new CartStore(shards);
  const cartLines = new CartLineStore(shards);

  app.post(
    '/carts',
    {
      schema: {
        operationId: 'createCart',
        tags: ['carts'],
        summary: 'Create a cart and its bearer token',
        response: {
          201: described(
            CreatedCart,
            'The cart, and the token its other routes need (Authorization: Bearer <token>)',
            locationHeader,
          ),
          ...errorResponses(400, 413, 415, 429, 500),
        },
      },
    },
    async (_request, reply) => {
      const cartId = await carts.create();
      return reply
        .code(201)
        .header('location', `${app.prefix}/carts/${cartId}`)
        .send({ cartId, token: ctx.tokens.issue(cartId) });
    },
  );

  app.get(
    '/carts/:cartId',
    {
      schema: {
        operationId: 'getCart',
        tags: ['carts'],
        summary: "A cart's lines",
        security,
        params: CartParams,
        response: {
          200: described(Cart, "The cart's lines, oldest change first"),
          ...errorResponses(400, 401, 403, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request) => {
      const { cartId } = request.params;
      const lines = await cartLines.list(cartId);
      lines.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
      return { cartId, lines };
    },
  );
}
