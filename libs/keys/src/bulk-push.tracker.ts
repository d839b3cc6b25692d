import { Injectable } from '@nestjs/common';

/**
 * Whether an import is pushing its keys right now. Its keys are pending until
 * confirmed, and a reconcile pass that pushed them one by one meanwhile would
 * only repeat the import's own calls, competing with it for the core.
 */
@Injectable()
export class BulkPushTracker {
  private running = 0;

  get active(): boolean {
    return this.running > 0;
  }

  async during<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
    }
  }
}
