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
