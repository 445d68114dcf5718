// The figures a record carries are whole milliseconds on the agent's monotonic clock.

/** Milliseconds since `t` (a performance.now() reading), rounded. */
export const since = (t: number): number => Math.round(performance.now() - t);
