import { Clock } from '@keyd/domain';

/** A clock that moves only when a test moves it, so "now" never drifts between two statements. */
export class ManualClock implements Clock {
  private at: number;

  constructor(start: Date | number) {
    this.at = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.at);
  }

  set(at: Date | number): void {
    this.at = typeof at === 'number' ? at : at.getTime();
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

/**
 * Reads Date, which jest's modern fake timers replace: time moves exactly with
 * jest.advanceTimersByTime, so a timer callback sees the instant it was due.
 */
export const fakeTimersClock: Clock = { now: () => new Date(Date.now()) };
