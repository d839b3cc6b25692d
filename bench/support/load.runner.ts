import { elapsedMs } from './latency.stats';

export interface LoadResult<T> {
  /** Operations started; fewer than asked when the deadline cut the run short. */
  started: number;
  ok: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  latenciesMs: number[];
  results: T[];
  timedOut: boolean;
}

export interface LoadSpec<T> {
  count: number;
  concurrency: number;
  op: (index: number) => Promise<T>;
  /** No new operation starts after this; in-flight ones finish. Keeps a stuck run bounded. */
  deadlineMs: number;
}

/**
 * Closed loop: `concurrency` callers each start the next operation as soon as
 * their previous one is answered, which is how an upstream service with a
 * fixed pool of workers would drive keyd.
 */
export async function runClosedLoop<T>(spec: LoadSpec<T>): Promise<LoadResult<T>> {
  const latenciesMs: number[] = [];
  const results: T[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | null = null;
  let timedOut = false;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + spec.deadlineMs;
  const worker = async (): Promise<void> => {
    while (next < spec.count) {
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      const index = next++;
      const t0 = process.hrtime.bigint();
      try {
        results.push(await spec.op(index));
        latenciesMs.push(elapsedMs(t0));
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(spec.concurrency, spec.count)) }, worker));
  return {
    started: next,
    ok: results.length,
    errors,
    firstError,
    seconds: elapsedMs(started) / 1000,
    latenciesMs,
    results,
    timedOut,
  };
}

/** Runs fn on every item with at most `limit` in flight; results keep the items' order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
