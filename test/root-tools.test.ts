// The agent runs root tools by absolute path from the system directories, never from /usr/local
// or a directory others can write (harness/guest/tools.ts), here on the host's own files.
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { RootTools, ToolError } from '../harness/guest/tools.js';

test('a tool is found in the system directories and checked; one in a world-writable place is refused', () => {
  const tools = new RootTools();
  expect(tools.resolve('true')).toMatch(/^\/usr\/bin\/true$|^\/bin\/true$/);
  expect(tools.changed()).toEqual([]);
  // a multi-call program is run by the name it was found as (kmod knows rmmod by its argv[0])
  if (existsSync('/usr/sbin/rmmod')) expect(tools.resolve('rmmod')).toBe('/usr/sbin/rmmod');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-tool-'));
  chmodSync(dir, 0o777);
  const planted = path.join(dir, 'ip');
  writeFileSync(planted, '#!/bin/sh\n', { mode: 0o755 });
  // a directory anyone can write (and, for a non-root user, a file that is not root's): refused
  expect(() => tools.resolve(planted)).toThrow(ToolError);
  expect(() => tools.resolve('no-such-tool-capmatrix')).toThrow(/not found in \/usr\/sbin/);
});

// only root can make a root-owned file for the check
test.runIf(process.getuid?.() === 0)(
  'a root-owned tool below a sticky world-writable directory (the boot copies in /tmp) is accepted',
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-tool-'));
    chmodSync(dir, 0o755);
    const tool = path.join(dir, 'sample');
    writeFileSync(tool, '#!/bin/sh\n', { mode: 0o755 });
    expect(new RootTools().resolve(tool)).toBe(tool);
    chmodSync(dir, 0o777); // its own directory writable by others: refused
    expect(() => new RootTools().resolve(tool)).toThrow(/is not root's alone/);
  },
);
