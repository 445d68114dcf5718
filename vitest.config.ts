import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Two projects, one after the other (sequence.groupOrder):
// - unit: test/*.test.ts, no VM; files run in parallel, one worker per core (vitest's default
//   leaves one core idle, and no guest runs in this phase to need it);
// - vm: test/vm/*.test.ts, each boots QEMU; one file at a time, after every unit file, so no two
//   files' TCG guests (nor a unit file) compete for the cores. Within the project, vitest's
//   default order: on a fresh clone the largest file first, afterwards a failed file first,
//   then the longest.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/*.test.ts'],
          sequence: { groupOrder: 0 },
          maxWorkers: availableParallelism(),
        },
      },
      {
        extends: true,
        test: { name: 'vm', include: ['test/vm/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
