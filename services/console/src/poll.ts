// Refreshing without flicker: the last answer stays on screen while the next is fetched, and an
// error is shown beside it (stale data is marked, never blanked).

import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** Refetch now (after a change the user made). */
  refresh: () => void;
}

/** How often the views refresh what they show. */
export const REFRESH_INTERVAL_MS = 2_000;

/** `intervalMs`: between the end of one read and the next (0: once); a function is asked after each read. */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], intervalMs: number | (() => number) = REFRESH_INTERVAL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const intervalRef = useRef(intervalMs);
  intervalRef.current = intervalMs;
  const periodic = typeof intervalMs === 'function' || intervalMs > 0;
  const depsKey = JSON.stringify(deps);
  const lastKey = useRef(depsKey);
  if (lastKey.current !== depsKey) {
    // Other things asked for: what was shown no longer answers it.
    lastKey.current = depsKey;
    setData(undefined);
    setError(undefined);
  }
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const next = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setData(next);
        setError(undefined);
      } catch (e) {
        if (controller.signal.aborted) return;
        setError(e);
      }
      const every = intervalRef.current;
      if (periodic) timer = setTimeout(() => void run(), typeof every === 'function' ? every() : every);
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [depsKey, tick, periodic]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}

/** A bounded history of values for a chart: the newest `points` samples. */
export function useSeries(value: number | undefined, stamp: unknown, points = 60): { t: number[]; v: number[] } {
  const series = useRef<{ t: number[]; v: number[] }>({ t: [], v: [] });
  const lastStamp = useRef<unknown>(undefined);
  if (value !== undefined && stamp !== lastStamp.current) {
    lastStamp.current = stamp;
    const s = series.current;
    s.t = [...s.t, Date.now() / 1000].slice(-points);
    s.v = [...s.v, value].slice(-points);
  }
  return series.current;
}
