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
    ['src/stock/ledger.ts', "import { workflowIds } from '../contract/workflow-ids';\nexport const w = workflowIds;\n"],
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
        'src/db/cart-lines.ts',
        "import type { CartLine } from '../contract/types';\nexport type L = CartLine;\n",
      ),
    ).toEqual([]);
    expect(
      await restricted(
        'src/activities/index.ts',
        "import { workflowIds } from '../contract/workflow-ids';\nexport const w = workflowIds;\n",
      ),
    ).toEqual([]);
  });
});
