import type { Client } from '@temporalio/client';
import type { ShardSet } from '../db';
import type { Metrics } from '../metrics';
import type { StockService } from '../stock/stock-service';
import type { PaymentGateway } from './payment-gateway';

export interface ActivityDeps {
  readonly shards: ShardSet;
  readonly stock: StockService;
  readonly payments: PaymentGateway;
  /** For activities that start or message other workflows (locks, reorders, the backorder queue). */
  readonly temporal: Client;
  readonly taskQueue: string;
  readonly metrics: Metrics;
}
