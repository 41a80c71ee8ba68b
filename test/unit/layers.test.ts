import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The layer table of docs/architecture.md is enforced by ESLint: an import that breaks it fails `npm run lint`. */
describe('layer rules (eslint.config.js)', () => {
  const eslint = new ESLint();
  async function restricted(filePath: string, code: string) {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  }

  it.each([
    ['src/db/schema.ts', "import { StockService } from '../stock/stock-service';\nexport const s = StockService;\n"],
    ['src/db/schema.ts', "import type { CartLine } from '../contract/types';\nexport type L = CartLine;\n"],
    ['src/db/shards.ts', "import { CartLineStore } from '../carts';\nexport const c = CartLineStore;\n"],
    ['src/db/shards.ts', "import { config } from '../config';\nexport const c = config;\n"],
    ['src/carts/orders.ts', "import { Context } from '@temporalio/activity';\nexport const c = Context;\n"],
    ['src/carts/orders.ts', "import type { FastifyInstance } from 'fastify';\nexport type F = FastifyInstance;\n"],
    ['src/carts/orders.ts', "import { HttpError } from '../api/errors';\nexport const e = HttpError;\n"],
    [
      'src/carts/cart-lines.ts',
      "import { createActivities } from '../activities';\nexport const a = createActivities;\n",
    ],
    ['src/carts/cart-lines.ts', "import { checkSystem } from '../ops/check-system';\nexport const c = checkSystem;\n"],
    [
      'src/carts/cart-lines.ts',
      "import { workflowIds } from '../contract/workflow-ids';\nexport const w = workflowIds;\n",
    ],
    ['src/admission/gate.ts', "import { Catalog } from '../stock/catalog';\nexport const c = Catalog;\n"],
    [
      'src/admission/waiting-room.ts',
      "import type { FastifyInstance } from 'fastify';\nexport type F = FastifyInstance;\n",
    ],
    ['src/stock/ledger.ts', "import { workflowIds } from '../contract/workflow-ids';\nexport const w = workflowIds;\n"],
    ['src/events/event-store.ts', "import { Client } from '@temporalio/client';\nexport const c = Client;\n"],
    ['src/events/webhook-endpoints.ts', "import { StockService } from '../stock';\nexport const s = StockService;\n"],
    ['src/contract/types.ts', "import { ShardSet } from '../db/shards';\nexport const s = ShardSet;\n"],
    ['src/workflows/hold.ts', "import { collections } from '../db/schema';\nexport const c = collections;\n"],
    ['src/activities/index.ts', "import { holdWorkflow } from '../workflows/hold';\nexport const h = holdWorkflow;\n"],
    [
      'src/api/app.ts',
      "import { createActivities } from '../activities/create-activities';\nexport const a = createActivities;\n",
    ],
  ])('%s may not import what its layer forbids', async (filePath, code) => {
    expect(await restricted(filePath, code)).toHaveLength(1);
  });

  it('allows what the table allows (type-only imports where it says so)', async () => {
    expect(
      await restricted(
        'src/carts/cart-lines.ts',
        "import type { CartLine } from '../contract/types';\nimport { collections } from '../db';\n" +
          'export type L = CartLine;\nexport const c = collections;\n',
      ),
    ).toEqual([]);
    expect(
      await restricted(
        'src/db/schema.ts',
        "import { MongoClient } from 'mongodb';\nimport { shardOf } from './hash';\nexport const m = [MongoClient, shardOf];\n",
      ),
    ).toEqual([]);
    expect(
      await restricted(
        'src/admission/waiting-room.ts',
        "import { lastOfRun } from '../db';\nexport const l = lastOfRun;\n",
      ),
    ).toEqual([]);
    expect(
      await restricted('src/stock/ledger.ts', "import { insertOnce } from '../db';\nexport const i = insertOnce;\n"),
    ).toEqual([]);
    expect(
      await restricted(
        'src/activities/index.ts',
        "import { workflowIds } from '../contract/workflow-ids';\nexport const w = workflowIds;\n",
      ),
    ).toEqual([]);
  });
});
