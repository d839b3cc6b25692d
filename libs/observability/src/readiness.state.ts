/**
 * What /readyz and the gRPC health service answer. Components report into it;
 * it never calls them, so reporting stays cheap on every path.
 */
export class Readiness {
  private startupDone = false;
  private coreDownSince: number | null = null;
  private storeError: string | null = null;
  private startupError: string | null = null;

  constructor(
    private readonly coreGraceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  startupPassDone(): void {
    this.startupDone = true;
  }

  /** The startup sequence threw: keyd stays unready, with the reason, instead of crashing. */
  startupFailed(error: string): void {
    this.startupError = error;
  }

  coreReachable(reachable: boolean): void {
    if (reachable) this.coreDownSince = null;
    else this.coreDownSince ??= this.now();
  }

  storeUsable(error: string | null): void {
    this.storeError = error;
  }

  state(): { ready: boolean; reason?: string } {
    if (this.storeError) return { ready: false, reason: `store unusable: ${this.storeError}` };
    if (this.startupError) return { ready: false, reason: `startup failed: ${this.startupError}` };
    if (!this.startupDone) return { ready: false, reason: 'startup reconcile pass not finished' };
    if (this.coreDownSince !== null && this.now() - this.coreDownSince > this.coreGraceMs)
      return { ready: false, reason: `core unreachable since ${new Date(this.coreDownSince).toISOString()}` };
    return { ready: true };
  }
}
