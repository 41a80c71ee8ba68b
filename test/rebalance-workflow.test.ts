import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShardSet } from '../src/db';
import { workflowIds } from '../src/contract/workflow-ids';
import { expectCleanLedger, productInput, uniqueId } from './helpers';
import { type TestWorker, useTimeSkippingWorker } from './workflow-helpers';

describe('rebalancer (time-skipping)', () => {
  const ctx = useTimeSkippingWorker();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = ctx));

  it('starts once when a bucket runs low while others hold stock, and evens the buckets out', async () => {
    const sku = uniqueId('skew');
    await w.stock.createProduct(productInput(sku, { buckets: 4 }), 40);
    await w.stock.transfer(uniqueId('skew'), sku, 0, 1, 10); // bucket 0 is now dry
    expect(await w.activities.afterStockTaken(sku)).toEqual({ reorder: false, rebalance: true });

    const moved = await env.client.workflow.getHandle(workflowIds.rebalance(sku)).result();
    expect(moved).toBeGreaterThanOrEqual(10);
    const heads = await Promise.all(
      w.stock.bucketsOf(await w.stock.product(sku)).map((b) => w.stock.ledger.head(b, true)),
    );
    expect(heads.map((h) => h!.balances.available)).toEqual([10, 10, 10, 10]);
    expect(await w.activities.afterStockTaken(sku)).toEqual({ reorder: false, rebalance: false });
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.inTransit).toBe(0);
  });
});
