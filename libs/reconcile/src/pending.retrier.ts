import { Injectable } from '@nestjs/common';
import { ReconcileService } from './reconcile.service';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** Retries pending core changes with exponential backoff, one timer at a time, off the request path. */
@Injectable()
export class PendingRetrier {
  private timer?: NodeJS.Timeout;
  private delay = RETRY_MIN_MS;
  private stopped = false;

  constructor(private readonly reconcile: ReconcileService) {}

  schedule(): void {
    if (this.timer || this.stopped) return;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reconcile
        .retryPending()
        .then((r) => (r.failed ? this.schedule() : this.succeeded()))
        .catch(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  /** Everything went through: the next failure starts again from the shortest delay. */
  succeeded(): void {
    this.delay = RETRY_MIN_MS;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
