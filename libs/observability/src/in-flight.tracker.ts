/** Counts requests being served, so that shutdown can wait for them instead of cutting them off. */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  enter(): () => void {
    this.count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.count === 0) this.waiters.splice(0).forEach((w) => w());
    };
  }

  get current(): number {
    return this.count;
  }

  /** Resolves true when nothing is in flight, false if the timeout came first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
