import { EntityManager, QueryRunner } from 'typeorm';

interface Job {
  fn: (m: EntityManager) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const MAX_BATCH = 256;

/**
 * Every write goes through here, one transaction at a time on SQLite's single
 * connection. Jobs that queue up while a commit is in flight share the next
 * transaction (group commit), each inside its own savepoint so that one failing
 * job rolls back only itself. No caller is answered before its commit is durable.
 */
export class WriteQueue {
  private readonly queue: Job[] = [];
  private running = false;

  constructor(private readonly runner: () => QueryRunner) {}

  run<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      void this.drain();
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
    const qr = this.runner();
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      // TypeORM's own nesting: the outer call is BEGIN, inner ones are savepoints,
      // which also keeps repository.save() from committing the batch early.
      await qr.startTransaction();
      for (const job of batch) {
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
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      for (const job of batch) job.reject(e);
      return;
    } finally {
      await qr.release();
    }
    batch.forEach((job, i) => (outcomes[i].ok ? job.resolve(outcomes[i].value) : job.reject(outcomes[i].value)));
  }
}
