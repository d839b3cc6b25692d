import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { CLOCK, Clock } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';

// setTimeout stores its delay in 32 bits; a later expiry is re-armed from an earlier wake-up.
const MAX_DELAY_MS = 2 ** 31 - 1;
// A failing run (the database unwritable, say) leaves the same key due: retry it later, not at once.
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * Wakes exactly when the earliest active key ends, instead of waiting for the
 * next periodic pass. Re-armed after every change, so it always points at the
 * true earliest end.
 */
@Injectable()
export class ExpiryScheduler implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private armedFor: number | null = null;
  private onDue: () => Promise<void> = async () => undefined;
  private stopped = false;
  private rearming: Promise<void> | null = null;
  private failures = 0;

  constructor(
    private readonly keys: KeyRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  start(onDue: () => Promise<void>): Promise<void> {
    this.onDue = onDue;
    return this.rearm();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** A key may now end sooner than the armed time: move the timer if so. */
  noteEnd(end: Date): void {
    if (this.armedFor === null || end.getTime() < this.armedFor) this.arm(end.getTime());
  }

  /** Reads the earliest end again; used after renewals and expiries, which can move it later. */
  rearm(): Promise<void> {
    this.rearming ??= this.keys
      .nextExpiry()
      .then((next) => {
        if (next) this.arm(Math.max(next.getTime(), this.clock.now().getTime() + this.backoffMs()));
        else this.disarm();
      })
      .catch((e: unknown) => this.log.error({ err: e }, 'cannot read the next expiry'))
      .finally(() => (this.rearming = null));
    return this.rearming;
  }

  /** rearm() for event handlers, which can't wait for it; rearm logs its own failures. */
  requestRearm(): void {
    this.rearm().catch((e: unknown) => this.log.error({ err: e }, 'cannot re-arm the expiry timer'));
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.armedFor = null;
  }

  private arm(at: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.armedFor = at;
    const delay = Math.min(Math.max(0, at - this.clock.now().getTime()), MAX_DELAY_MS);
    this.timer = setTimeout(() => {
      this.fire().catch((e: unknown) => this.log.error({ err: e }, 'expiry run failed'));
    }, delay);
    this.timer.unref();
  }

  private async fire(): Promise<void> {
    this.armedFor = null;
    try {
      await this.onDue();
      this.failures = 0;
    } catch (e) {
      this.failures++;
      this.log.error({ err: e, retry_in_ms: this.backoffMs() }, 'expiry run failed');
    }
    await this.rearm();
  }

  private backoffMs(): number {
    return this.failures ? Math.min(RETRY_MIN_MS * 2 ** (this.failures - 1), RETRY_MAX_MS) : 0;
  }
}
