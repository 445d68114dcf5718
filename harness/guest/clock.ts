// The figures a record carries are whole milliseconds on the agent's monotonic clock.

/** Milliseconds since `t` (a performance.now() reading), rounded. */
export const since = (t: number): number => Math.round(performance.now() - t);

/** The parts of a cell's housekeeping, each timed under its name (ms, summed when a name comes
 * again): `start` before a part, `lap` after it. For the bench's table of where a cell goes. */
export class Laps {
  readonly ms: Record<string, number> = {};
  private t = performance.now();

  start(): void {
    this.t = performance.now();
  }

  lap(name: string): void {
    const now = performance.now();
    this.ms[name] = (this.ms[name] ?? 0) + (now - this.t);
    this.t = now;
  }
}
