// The shape of the import graph: what the guest agent's bundle may hold, and no module circles.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
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

/** harness/'s modules → the harness modules each imports (type-only imports too: a circle of
 * types is still two modules that cannot be read one before the other). */
function importGraph(): Map<string, string[]> {
  const root = path.join(PACKAGE_ROOT, 'harness');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join('harness', f));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(path.join(PACKAGE_ROOT, file), 'utf8'), true, true);
    const local = importedFiles
      .map((i) => i.fileName)
      .filter((s) => s.startsWith('.'))
      .map((s) => path.join(path.dirname(file), s.replace(/\.js$/, '.ts')))
      .filter((f) => f.startsWith('harness/'));
    graph.set(file, local);
  }
  return graph;
}

/** Every group of modules that import each other, round a circle (Tarjan's strongly connected
 * components of more than one module, or one that imports itself). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v) as number);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) component.push(w);
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('harness/', () => {
  test('no two modules import each other, directly or round a circle', () => {
    const graph = importGraph();
    expect(graph.get('harness/guest/judge.ts')).toContain('harness/guest/protocol.ts');
    expect(circles(graph)).toEqual([]);
  });
});
