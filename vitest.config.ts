import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real-kernel tests boot QEMU; they run one file at a time to keep one TCG guest per core.
    fileParallelism: false,
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
