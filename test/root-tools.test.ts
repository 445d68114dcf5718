// The agent runs root tools by absolute path from the system directories, never from /usr/local
// or a directory others can write (harness/guest/tools.ts), here on the host's own files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { RootTools, ToolError } from '../harness/guest/tools.js';

test('a tool is found in the system directories and checked; one in a world-writable place is refused', () => {
  const tools = new RootTools();
  expect(tools.resolve('true')).toMatch(/^\/usr\/bin\/true$|^\/bin\/true$/);
  expect(tools.changed()).toEqual([]);
  const planted = path.join(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-tool-')), 'ip');
  writeFileSync(planted, '#!/bin/sh\n', { mode: 0o755 });
  // os.tmpdir() is world-writable (or not root's): the agent will not run what is in it
  expect(() => tools.resolve(planted)).toThrow(ToolError);
  expect(() => tools.resolve('no-such-tool-capmatrix')).toThrow(/not found in \/usr\/sbin/);
});
