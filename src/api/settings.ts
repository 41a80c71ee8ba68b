import path from 'node:path';
import type { Config } from '../config';
import { repoRoot } from '../infra/paths';
import type { ApiSettings } from './app';

/** The API's settings from the configuration. */
export function apiSettings(config: Config, temporalUiUrl: string | undefined): ApiSettings {
  return {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    opsToken: config.opsToken,
    tokenSecret: config.tokenSecret,
    holdTtlSeconds: config.HOLD_TTL_SECONDS,
    maxHoldSeconds: config.MAX_HOLD_SECONDS,
    maxLineQuantity: config.MAX_LINE_QUANTITY,
    rateLimitCartPerMinute: config.RATE_LIMIT_CART_PER_MINUTE,
    rateLimitIpPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    ...(temporalUiUrl ? { temporalUiUrl } : {}),
  };
}

/** The built storefront and ops console. */
export const webRoot = path.join(repoRoot, 'web', 'dist');
