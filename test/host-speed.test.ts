import { expect, test } from 'vitest';
import { describeHostSpeed, measureHostSpeed } from '../harness/bench/host-speed.js';

test('the host speed loop runs alone and on every core, and says how much work the cores did at once', async () => {
  const h = await measureHostSpeed(2, 1, 1e6);
  expect(h.aloneMs).toBeGreaterThan(0);
  expect(h.allCoresMs).toBeGreaterThan(0);
  expect(h.throughput).toBeCloseTo((2 * h.aloneMs) / h.allCoresMs, 1);
  expect(describeHostSpeed(h)).toMatch(
    /^a fixed loop \d+ ms alone, \d+ ms with one on each of 2 cores \([\d.]+× one core's work at once\)$/,
  );
});
