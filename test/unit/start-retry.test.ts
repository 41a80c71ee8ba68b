import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { retryingStart } from '../../src/api/hold-start';
import { isUndecidedTemporalError } from '../../src/api/temporal-errors';

/** A gRPC error as @grpc/grpc-js throws it: a code, details and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}
const failed = (cause: Error) => new ServiceError('Update-With-Start failed', { cause });

describe('which update-with-start failures are sent again', () => {
  it('retries what decided nothing: busy, out of reach, aborted, or a start deduplicated without its update', () => {
    expect(isUndecidedTemporalError(failed(grpcError(8, 'resource exhausted')))).toBe(true);
    expect(isUndecidedTemporalError(failed(grpcError(14, 'unavailable')))).toBe(true);
    expect(isUndecidedTemporalError(failed(grpcError(10, 'aborted')))).toBe(true);
    expect(
      isUndecidedTemporalError(failed(grpcError(13, 'Update-with-Start could not be executed: StartDeduped'))),
    ).toBe(true);
    expect(isUndecidedTemporalError(new WorkflowUpdateRPCTimeoutOrCancelledError('timeout'))).toBe(true);
  });

  it('does not retry a refusal or a bug', () => {
    expect(isUndecidedTemporalError(failed(grpcError(3, 'invalid argument')))).toBe(false);
    expect(isUndecidedTemporalError(failed(grpcError(7, 'permission denied')))).toBe(false);
    expect(isUndecidedTemporalError(new TypeError('a bug'))).toBe(false);
  });

  it('sends again until it goes through, and gives up with the last error past its budget', async () => {
    let calls = 0;
    const answer = await retryingStart(async () => {
      if (++calls < 3) throw failed(grpcError(14, 'unavailable'));
      return 'held';
    });
    expect([answer, calls]).toEqual(['held', 3]);

    let tries = 0;
    const busy = failed(grpcError(8, 'resource exhausted'));
    await expect(
      retryingStart(async () => {
        tries++;
        throw busy;
      }, 120),
    ).rejects.toBe(busy);
    expect(tries).toBeGreaterThan(1);
  });
});
