import { EntityManager, QueryRunner } from 'typeorm';

interface Job {
  fn: (m: EntityManager) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const MAX_BATCH = 256;

interface Outcome {
  ok: boolean;
  value: unknown;
}

/**
 * Every write goes through here, one transaction at a time on SQLite's single
 * connection. Jobs that queue up while a commit is in flight share the next
 * transaction (group commit). The batch runs without savepoints first; only if a
 * job fails is it rolled back and run again with each job in its own savepoint,
 * so that the failing job rolls back only itself. No caller is answered before
 * its commit is durable.
 */
export class WriteQueue {
  private readonly queue: Job[] = [];
  private running = false;

  constructor(private readonly runner: () => QueryRunner) {}

  run<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      // commit() answers every job it takes, so drain() only rejects on a bug; this caller hears of it.
      this.drain().catch(reject);
    });
  }

  /** Resolves once everything queued so far has been settled. */
  async idle(): Promise<void> {
    while (this.running || this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) await this.commit(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.running = false;
    }
  }

  private async commit(batch: Job[]): Promise<void> {
    let qr: QueryRunner | undefined;
    try {
      qr = this.runner();
      // Optimistic first: savepoints cost two statements a job, and jobs rarely fail.
      const fast = await this.attempt(qr, batch, false);
      const outcomes = fast ?? (await this.attempt(qr, batch, true));
      if (!outcomes) throw new Error('a write batch failed even with each job isolated');
      batch.forEach((job, i) => (outcomes[i].ok ? job.resolve(outcomes[i].value) : job.reject(outcomes[i].value)));
    } catch (e) {
      for (const job of batch) job.reject(e);
    } finally {
      // Every job is answered by now; a connection that can't be released fails the next batch's runner().
      await qr?.release().catch(() => undefined);
    }
  }

  /**
   * Runs the batch in one transaction. Without isolation, a failing job rolls
   * everything back and answers null, so the caller re-runs the batch with a
   * savepoint per job (TypeORM's own nesting), where a failure undoes only its
   * own job. Jobs are plain database work, so running one twice is safe.
   */
  private async attempt(qr: QueryRunner, batch: Job[], isolated: boolean): Promise<Outcome[] | null> {
    const outcomes: Outcome[] = [];
    await qr.startTransaction();
    try {
      for (const job of batch) {
        if (!isolated) {
          outcomes.push({ ok: true, value: await job.fn(qr.manager) });
          continue;
        }
        await qr.startTransaction();
        try {
          const value = await job.fn(qr.manager);
          await qr.commitTransaction();
          outcomes.push({ ok: true, value });
        } catch (e) {
          await qr.rollbackTransaction();
          outcomes.push({ ok: false, value: e });
        }
      }
      await qr.commitTransaction();
      return outcomes;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      // A lone job's failure is its own answer; a commit failure fails the whole batch either way.
      if (batch.length === 1 && outcomes.length === 0) return [{ ok: false, value: e }];
      if (isolated) throw e;
      return null;
    }
  }
}
