// Time reaches actors only through a Clock, so a test can run a whole member on simulated time.
import { performance } from 'node:perf_hooks';

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional). Never goes backwards. */
  now(): number;
  /** Milliseconds since the Unix epoch, for the few places that report wall time. */
  wallMs(): number;
  setTimer(delayMs: number, callback: () => void): Timer;
  setInterval(periodMs: number, callback: () => void): Timer;
}

export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallMs(): number {
    return Date.now();
  }
  setTimer(delayMs: number, callback: () => void): Timer {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  }
  setInterval(periodMs: number, callback: () => void): Timer {
    const handle = setInterval(callback, Math.max(1, periodMs));
    return { cancel: () => clearInterval(handle) };
  }
}

interface ManualTimer {
  dueMs: number;
  sequence: number;
  periodMs: number;
  callback: () => void;
  cancelled: boolean;
}

/** Simulated time: nothing happens until the test advances it. Timers due at the same instant fire in creation order. */
export class ManualClock implements Clock {
  private nowMs = 0;
  private sequence = 0;
  private timers: ManualTimer[] = [];

  constructor(private readonly epochMs = 1_700_000_000_000) {}

  now(): number {
    return this.nowMs;
  }
  wallMs(): number {
    return this.epochMs + this.nowMs;
  }
  setTimer(delayMs: number, callback: () => void): Timer {
    return this.add(delayMs, 0, callback);
  }
  setInterval(periodMs: number, callback: () => void): Timer {
    return this.add(periodMs, Math.max(1, periodMs), callback);
  }
  /** Due time of the earliest pending timer, or undefined. */
  nextDueMs(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers) if (!t.cancelled && (best === undefined || t.dueMs < best)) best = t.dueMs;
    return best;
  }
  /** Moves time forward to `targetMs`, firing every timer due on the way, in due order. */
  advanceTo(targetMs: number, afterEachTimer?: () => void): void {
    for (;;) {
      const next = this.popDue(targetMs);
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      if (next.periodMs > 0) {
        next.dueMs += next.periodMs;
        next.sequence = this.sequence++;
        this.timers.push(next);
      }
      next.callback();
      afterEachTimer?.();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
  }
  advance(deltaMs: number, afterEachTimer?: () => void): void {
    this.advanceTo(this.nowMs + deltaMs, afterEachTimer);
  }
  private add(delayMs: number, periodMs: number, callback: () => void): Timer {
    const timer: ManualTimer = { dueMs: this.nowMs + Math.max(0, delayMs), sequence: this.sequence++, periodMs, callback, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }
  private popDue(limitMs: number): ManualTimer | undefined {
    let bestIndex = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i]!;
      if (t.dueMs > limitMs) continue;
      const best = this.timers[bestIndex];
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.sequence < best.sequence)) bestIndex = i;
    }
    if (bestIndex < 0) return undefined;
    return this.timers.splice(bestIndex, 1)[0];
  }
}
