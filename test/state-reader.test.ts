// The state helper's file watch (bpf-src/state_watch "watch" and "changed", state-reader.ts), run
// on the host: after each cell it tells the agent which of its sample copies and root tools
// changed (harness/guest/prepare.ts, tools.ts), so each change a cell can make to one must show,
// once, and nothing else. The guest runs it in every VM test (faults.test.ts: a cell that chmods
// its own copy).
import { chmodSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { StateReader } from '../harness/guest/state-reader.js';
import { SAMPLES_BUILD_DIR } from '../harness/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-watch-'));
const at = (name: string) => path.join(dir, name);
let reader: StateReader;

beforeAll(async () => {
  const fifos = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-watch-fifo-'));
  reader = await StateReader.start('/proc', [], [], fifos, path.join(SAMPLES_BUILD_DIR, 'state_watch'));
  expect(reader.broken).toBeNull();
});
afterAll(() => reader.close());

test('each way a file, its directory or a link to it can change shows once; an unchanged one never', () => {
  for (const f of ['written', 'chmodded', 'touched', 'replaced', 'same', 'target', 'other'])
    writeFileSync(at(f), f, { mode: 0o755 });
  mkdirSync(at('dir'));
  symlinkSync(at('target'), at('link'));
  symlinkSync(at('target'), at('retargeted'));
  const watched = ['written', 'chmodded', 'touched', 'replaced', 'same', 'dir', 'link', 'retargeted'].map(at);
  expect(reader.watchFiles(watched)).toBe(true);
  expect(reader.changedFiles()).toEqual(new Set());

  writeFileSync(at('written'), 'x', { flag: 'a' });
  chmodSync(at('chmodded'), 0o777);
  utimesSync(at('touched'), new Date(0), new Date(0));
  writeFileSync(at('new'), 'planted');
  renameSync(at('new'), at('replaced'));
  writeFileSync(at('dir/entry'), ''); // an entry added to a watched directory
  writeFileSync(at('target'), 'y', { flag: 'a' }); // what a link leads to
  renameSync(at('retargeted'), at('gone'));
  symlinkSync(at('other'), at('retargeted'));
  const changed = ['written', 'chmodded', 'touched', 'replaced', 'dir', 'link', 'retargeted'].map(at);
  expect(reader.changedFiles()).toEqual(new Set(changed));
  // said once: a file that changed is no longer watched
  expect(reader.changedFiles()).toEqual(new Set());
  writeFileSync(at('written'), 'z', { flag: 'a' });
  expect(reader.changedFiles()).toEqual(new Set());
});

test('a path the helper cannot take on one line is refused, so the caller checks it itself', () => {
  expect(reader.watchFiles([at('tab\tin-name')])).toBe(false);
  expect(reader.watchFiles([`/${'x'.repeat(5000)}`])).toBe(false);
  // many paths go over several lines, all watched
  const many = Array.from({ length: 400 }, (_, i) => at(`many-${i}`));
  for (const f of many) writeFileSync(f, '');
  expect(reader.watchFiles(many)).toBe(true);
  writeFileSync(at('many-399'), 'x');
  expect(reader.changedFiles()).toEqual(new Set([at('many-399')]));
});
