import type { Connection } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ShardSet } from '../db';

export interface AppDeps {
  readonly shards: ShardSet;
  readonly temporal: Connection;
  /** The request logger; omit for a silent app (tests). */
  readonly logger?: FastifyBaseLogger;
}

const healthResponse = {
  type: 'object',
  required: ['status', 'temporal', 'shards'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    temporal: { type: 'boolean' },
    shards: { type: 'array', items: { type: 'boolean' } },
  },
} as const;

async function temporalAnswers(connection: Connection): Promise<boolean> {
  try {
    await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}

/** Builds the HTTP API; `server.ts` owns the process (listen, graceful close). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = deps.logger ? Fastify({ loggerInstance: deps.logger }) : Fastify();

  app.get('/health', { schema: { response: { 200: healthResponse, 503: healthResponse } } }, async (_req, reply) => {
    const [temporal, shards] = await Promise.all([temporalAnswers(deps.temporal), deps.shards.ping()]);
    const ok = temporal && shards.every(Boolean);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', temporal, shards });
  });

  return app;
}
