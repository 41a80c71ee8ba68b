import { CartLineStore, CartStore } from '../../carts';
import {
  Cart,
  CartParams,
  CreateCartBody,
  CreatedCart,
  described,
  errorResponses,
  locationHeader,
} from '../../contract/http';
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
        description:
          'Anyone may create an anonymous cart. A cart bound to a customer (`customerId`) is created by the ' +
          "storefront's backend with the ops token: 401 without a token, 403 with a shopper's.",
        body: CreateCartBody,
        response: {
          201: described(
            CreatedCart,
            'The cart, and the token its other routes need (Authorization: Bearer <token>)',
            locationHeader,
          ),
          ...errorResponses(400, 401, 403, 413, 415, 429, 500),
        },
      },
    },
    async (request, reply) => {
      const customerId = request.body?.customerId;
      // Only the backend that knows who signed in may say so: a shopper could otherwise claim anyone's limits.
      if (customerId !== undefined) await ctx.requireOps(request);
      const cartId = await carts.create(customerId);
      return reply
        .code(201)
        .header('location', `${app.prefix}/carts/${cartId}`)
        .send({
          cartId,
          token: ctx.tokens.issue(cartId, customerId),
          ...(customerId !== undefined ? { customerId } : {}),
        });
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
