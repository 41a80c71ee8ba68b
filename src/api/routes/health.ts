import type { Client } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { described, errorResponses, Liveness, Readiness, ref } from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';

/** Liveness, readiness and Prometheus metrics: outside /v1, for orchestrators and scrapers. */
export async function healthRoutes(app: HttpApp, deps: Pick<RouteContext, 'temporal' | 'shards' | 'metrics'>) {
  // Liveness says only that this process answers: an orchestrator restarts it when it does not. It does no
  // I/O, so it is not rate limited (a probe must not fail because of shoppers on the same address).
  app.get(
    '/livez',
    {
      config: { rateLimit: false },
      schema: {
        operationId: 'getLiveness',
        tags: ['health'],
        summary: 'Liveness: the process is up (no dependency is checked)',
        response: { 200: described(Liveness, 'The process answers'), ...errorResponses(500) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  // Readiness: whether this process can serve, i.e. Temporal and every shard answer. /health is the same.
  const readiness = async (_request: FastifyRequest, reply: FastifyReply) => {
    const [temporal, shards] = await Promise.all([temporalAnswers(deps.temporal), deps.shards.ping()]);
    const ok = temporal && shards.every(Boolean);
    const body: Readiness = { status: ok ? 'ok' : 'degraded', temporal, shards };
    return reply.code(ok ? 200 : 503).send(body);
  };
  const readinessResponses = {
    ...errorResponses(429, 500),
    200: ref(Readiness, 'Temporal and every shard answer'),
    503: ref(Readiness, 'Temporal or a shard does not answer: `shards` says which'),
  };
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'Readiness: Temporal and every MongoDB shard answer',
        response: readinessResponses,
      },
    },
    readiness,
  );
  app.get(
    '/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['health'],
        summary: 'Readiness, as /readyz (kept for existing monitors)',
        response: readinessResponses,
      },
    },
    readiness,
  );
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['health'],
        summary: 'Prometheus metrics',
        response: {
          200: {
            description: 'The Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses(429, 500),
        },
      },
    },
    async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
}

async function temporalAnswers(client: Client): Promise<boolean> {
  try {
    const { connection } = client;
    await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
