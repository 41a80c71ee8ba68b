import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Calls `fn` now and then every `intervalMs` while `enabled`, one call at a time (a slow answer delays the next
 * call instead of piling calls up). Changing `key` restarts the polling at once.
 */
export function usePoll(fn: () => Promise<unknown>, intervalMs: number, enabled = true, key: unknown = undefined) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
      }
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [intervalMs, enabled, key]);
}

/**
 * The time of this render, re-rendering every `intervalMs` (for countdowns). Read at render, not kept from the
 * last tick, so a line that appears between ticks does not count from a stale clock.
 */
export function useNow(intervalMs = 1000): number {
  const [, setTicks] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTicks((n) => n + 1), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return Date.now();
}

/** A signal that aborts when the component unmounts: stops work (a request, a wait) that outlives it. */
export function useUnmountSignal(): AbortSignal {
  const [controller] = useState(() => new AbortController());
  useEffect(() => () => controller.abort(), [controller]);
  return controller.signal;
}
