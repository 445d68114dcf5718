import { defineConfig } from 'vitest/config';

// npm run test:build: the opt-in kernel build test (see test/build-provider.build.ts).
export default defineConfig({ test: { include: ['test/**/*.build.ts'], testTimeout: 4 * 3600_000 } });
