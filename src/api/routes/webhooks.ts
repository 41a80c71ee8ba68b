import { createHash, randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import { webhookEventSignal } from '../../contract/messages';
import { workflowIds } from '../../contract/workflow-ids';
import {
  CreateWebhookBody,
  DeliveryParams,
  described,
  errorResponses,
  EventList,
  EventListQuery,
  ref,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookParams,
} from '../../contract/http';
import { EventStore, WebhookDeliveryStore, WebhookEndpointStore, type WebhookEndpoint as Stored } from '../../events';
import type { HttpApp, RouteContext } from '../app';
import { HttpError } from '../errors';

/** An event not delivered this long after its first attempt is given up, unless the endpoint says otherwise. */
const defaultMaxAgeSeconds = 3 * 24 * 3600;

/**
 * Webhooks (ops): endpoints that receive the store's domain events, each request signed with the endpoint's
 * secret, and what was delivered to them; and the events themselves.
 */
export async function webhookRoutes(app: HttpApp, ctx: RouteContext) {
  const endpoints = new WebhookEndpointStore(ctx.shards);
  const deliveries = new WebhookDeliveryStore(ctx.shards);
  const events = new EventStore(ctx.shards);
  const security = [{ bearer: [] }];
  const common = { onRequest: ctx.requireOps };
  const tags = ['webhooks'];

  const view = (e: Stored, withSecret = false): WebhookEndpoint => {
    const workflowId = workflowIds.webhooks(e.id);
    const runUrl = ctx.runUrl(workflowId);
    return {
      id: e.id,
      url: e.url,
      events: e.events,
      maxAgeSeconds: e.maxAgeSeconds,
      ...(e.description ? { description: e.description } : {}),
      createdAt: e.createdAt,
      ...(withSecret ? { secret: e.secret } : {}),
      workflowId,
      ...(runUrl ? { runUrl } : {}),
    };
  };
  const endpointOr404 = async (id: string) => {
    const endpoint = await endpoints.get(id);
    if (!endpoint) throw new HttpError('unknown_webhook', `no webhook endpoint ${id}`);
    return endpoint;
  };

  app.post(
    '/ops/webhooks',
    {
      schema: {
        operationId: 'createWebhook',
        tags,
        summary: 'Register a webhook endpoint (ops); the answer has its signing secret, shown only here',
        description:
          'With an Idempotency-Key, the same key registers one endpoint: a retry answers it again (200), and the ' +
          'key with another body is refused (422).',
        security,
        body: CreateWebhookBody,
        response: {
          201: ref(WebhookEndpoint, 'Registered; `secret` signs its requests (Holdfast-Signature)'),
          200: ref(WebhookEndpoint, 'This Idempotency-Key registered it before'),
          ...errorResponses(400, 401, 403, 413, 415, 422, 429, 500),
        },
      },
      ...common,
    },
    async (request, reply) => {
      const body = request.body;
      const key = request.headers['idempotency-key'];
      const keyed = typeof key === 'string' && key.length > 0;
      const id = keyed
        ? `wh_${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`
        : `wh_${randomBytes(16).toString('base64url')}`;
      const wanted: Stored = {
        id,
        url: body.url,
        events: body.events,
        secret: body.secret ?? `whsec_${randomBytes(24).toString('base64url')}`,
        maxAgeSeconds: body.maxAgeSeconds ?? defaultMaxAgeSeconds,
        ...(body.description ? { description: body.description } : {}),
        createdAt: new Date().toISOString(),
      };
      const { endpoint, created } = await endpoints.create(wanted);
      if (!created) {
        const same =
          endpoint.url === wanted.url &&
          JSON.stringify(endpoint.events) === JSON.stringify(wanted.events) &&
          (body.secret === undefined || body.secret === endpoint.secret) &&
          endpoint.maxAgeSeconds === wanted.maxAgeSeconds &&
          endpoint.description === wanted.description;
        if (!same) throw new HttpError('idempotency_key_reused', 'this Idempotency-Key registered another endpoint');
      }
      return reply.code(created ? 201 : 200).send(view(endpoint, true));
    },
  );

  app.get(
    '/ops/webhooks',
    {
      schema: {
        operationId: 'listWebhooks',
        tags,
        summary: 'Registered webhook endpoints, oldest first (ops; secrets are not shown)',
        security,
        response: { 200: described(WebhookEndpointList, 'Every endpoint'), ...errorResponses(401, 403, 429, 500) },
      },
      ...common,
    },
    async () => ({ endpoints: (await endpoints.list(true)).map((e) => view(e)) }),
  );

  app.delete(
    '/ops/webhooks/:id',
    {
      schema: {
        operationId: 'deleteWebhook',
        tags,
        summary: 'Remove a webhook endpoint (ops): nothing more is sent to it',
        security,
        params: WebhookParams,
        response: {
          204: Type.Null({ description: 'Removed' }),
          ...errorResponses(400, 401, 403, 404, 413, 415, 429, 500),
        },
      },
      ...common,
    },
    async (request, reply) => {
      if (!(await endpoints.delete(request.params.id))) {
        throw new HttpError('unknown_webhook', `no webhook endpoint ${request.params.id}`);
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/ops/webhooks/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        summary: "An endpoint's latest deliveries: status, attempts, last error (ops)",
        security,
        params: WebhookParams,
        response: {
          200: described(WebhookDeliveryList, 'Up to 100 deliveries, the latest first'),
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
      ...common,
    },
    async (request) => {
      await endpointOr404(request.params.id);
      const list = await deliveries.list(request.params.id, 100);
      return { deliveries: list.map(({ rev: _rev, ...d }) => d) };
    },
  );

  app.post(
    '/ops/webhooks/:id/deliveries/:eventId/redeliver',
    {
      schema: {
        operationId: 'redeliverWebhook',
        tags,
        summary: 'Send an event to an endpoint again, even if it was delivered or given up (ops)',
        security,
        params: DeliveryParams,
        response: {
          202: described(WebhookDeliveryList, 'Queued for the endpoint; its delivery record as it stood'),
          ...errorResponses(400, 401, 403, 404, 413, 415, 429, 500),
        },
      },
      ...common,
    },
    async (request, reply) => {
      const endpoint = await endpointOr404(request.params.id);
      const event = await events.get(request.params.eventId);
      if (!event) throw new HttpError('unknown_event', `no event ${request.params.eventId}`);
      await ctx.temporal.workflow.signalWithStart('webhookDeliveryWorkflow', {
        workflowId: workflowIds.webhooks(endpoint.id),
        taskQueue: ctx.settings.taskQueue,
        args: [{ endpointId: endpoint.id, maxAgeSeconds: endpoint.maxAgeSeconds }],
        signal: webhookEventSignal,
        signalArgs: [{ event, redeliver: true }],
      });
      const record = await deliveries.get(endpoint.id, event.id);
      const standing = record ? [(({ rev: _rev, ...d }) => d)(record)] : [];
      return reply.code(202).send({ deliveries: standing });
    },
  );

  app.get(
    '/ops/events',
    {
      schema: {
        operationId: 'listEvents',
        tags,
        summary: 'The latest domain events, newest first, of one type or all (ops)',
        security,
        querystring: EventListQuery,
        response: { 200: described(EventList, 'Up to 100 events'), ...errorResponses(400, 401, 403, 429, 500) },
      },
      ...common,
    },
    async (request) => ({ events: await events.recent(100, request.query.type) }),
  );
}
