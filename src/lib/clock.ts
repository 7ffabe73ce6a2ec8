/** Every use of "now" goes through a Clock, so tests and the test clock can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * A movable clock (like Stripe's test clocks). When frozen, time stands still until moved;
 * otherwise it runs with an offset from real time.
 */
export class TestClock implements Clock {
  frozenAt: Date | null = null;
  offsetMs = 0;

  constructor(start?: Date) {
    if (start) this.frozenAt = new Date(start);
  }

  now(): Date {
    return this.frozenAt ? new Date(this.frozenAt) : new Date(Date.now() + this.offsetMs);
  }

  set(now: Date): void {
    this.frozenAt = new Date(now);
  }

  advance(ms: number): void {
    if (this.frozenAt) this.frozenAt = new Date(this.frozenAt.getTime() + ms);
    else this.offsetMs += ms;
  }

  reset(): void {
    this.frozenAt = null;
    this.offsetMs = 0;
  }
}

export const DAY_MS = 86_400_000;
