// The shape of the import graph: what the guest agent's bundle may hold.
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { bundleAgent } from '../harness/setup/ensure.js';

/** Host-only modules: the scenario's schema and checks, the runs, the reports. The agent imports
 * protocol.ts and leaf modules only (dsl/capabilities, dsl/cell-id, …). */
const HOST_ONLY = [
  'harness/dsl/scenario.ts',
  'harness/dsl/validate.ts',
  'harness/dsl/expand.ts',
  'harness/dsl/load.ts',
  'harness/run/',
  'harness/report/',
];

describe('the guest agent', () => {
  test('its bundle takes nothing of the scenario schema, the expander, run/ or report/', async () => {
    const { metafile } = await bundleAgent();
    // the metafile's paths are relative to the directory esbuild ran in
    const inputs = Object.keys(metafile.inputs).map((f) => path.relative(PACKAGE_ROOT, path.resolve(f)));
    expect(inputs).toContain('harness/guest/protocol.ts');
    expect(inputs.filter((f) => HOST_ONLY.some((h) => f.startsWith(h)))).toEqual([]);
  });
});
