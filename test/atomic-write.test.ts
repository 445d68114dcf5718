// A crash never leaves a truncated results.json: a writer rewriting a 2 MB results file is
// killed with SIGKILL at random moments, and the file must parse every time.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';

const WRITER = path.join(import.meta.dirname, 'fixtures', 'write-forever.ts');

test('results.json parses after each of 15 kill -9 of its writer', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-atomic-'));
  const file = path.join(dir, 'results.json');
  const seen = new Set<string>();
  for (let i = 0; i < 15; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout.once('data', r)); // one whole file exists
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
    const gone = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await gone;
    const run = JSON.parse(readFileSync(file, 'utf8'));
    expect(run.cells).toHaveLength(4000);
    seen.add(run.runId);
  }
  // the writer was killed at different points of its rewrite loop
  expect(seen.size).toBeGreaterThan(1);
}, 120_000);
