// The agent runs root tools by absolute path from the system directories, never from /usr/local
// or a directory others can write, and only the file the host vouched for in the plan
// (harness/guest/tools.ts); the host vouches for a tool by its Debian package's md5
// (harness/plan/tool-digests.ts). Here on the host's own files.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { run } from '../harness/exec.js';
import { AGENT_TOOLS } from '../harness/guest/protocol.js';
import { RootTools, ToolError } from '../harness/guest/tools.js';
import { hostTools, rootToolNames, toolDigests } from '../harness/plan/tool-digests.js';
import { guestCell } from './guest-cell.js';

const isRoot = process.getuid?.() === 0;
const hasDpkg = run('dpkg-query', ['--version']).ok;
const hexOf = (algo: string, file: string) => createHash(algo).update(readFileSync(file)).digest('hex');
const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'capmatrix-tool-'));

test('a tool is found in the system directories and checked; one in a world-writable place is refused', () => {
  const tools = new RootTools('unchecked');
  expect(tools.resolve('true')).toMatch(/^\/usr\/bin\/true$|^\/bin\/true$/);
  expect(tools.changed()).toEqual([]);
  // a multi-call program is run by the name it was found as (kmod knows rmmod by its argv[0])
  if (existsSync('/usr/sbin/rmmod')) expect(tools.resolve('rmmod')).toBe('/usr/sbin/rmmod');
  const dir = tempDir();
  chmodSync(dir, 0o777);
  const planted = path.join(dir, 'ip');
  writeFileSync(planted, '#!/bin/sh\n', { mode: 0o755 });
  // a directory anyone can write (and, for a non-root user, a file that is not root's): refused
  expect(() => tools.resolve(planted)).toThrow(ToolError);
  expect(() => tools.resolve('no-such-tool-capmatrix')).toThrow(/not found in \/usr\/sbin/);
});

// only root can make a root-owned file for the check
test.runIf(isRoot)(
  'a root-owned tool below a sticky world-writable directory (the boot copies in /tmp) is accepted',
  () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const tool = path.join(dir, 'sample');
    writeFileSync(tool, '#!/bin/sh\n', { mode: 0o755 });
    expect(new RootTools('unchecked').resolve(tool)).toBe(tool);
    // the agent's own sample copy needs no digest of the host's; any other path does
    expect(new RootTools({}).resolveSampleCopy(tool)).toBe(tool);
    expect(() => new RootTools({}).resolve(tool)).toThrow(/the plan does not vouch for it/);
    chmodSync(dir, 0o777); // its own directory writable by others: refused
    expect(() => new RootTools('unchecked').resolve(tool)).toThrow(/is not root's alone/);
  },
);

test.runIf(isRoot)(
  "after each cell: the state helper's word for the tools it watches, node's own stat for the rest",
  () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const tool = path.join(dir, 'tool');
    writeFileSync(tool, '#!/bin/sh\n', { mode: 0o755 });
    const watching = new RootTools('unchecked');
    const asked: string[][] = [];
    watching.watchWith({ watchFiles: (paths) => asked.push(paths) > 0 });
    watching.resolve(tool);
    expect(asked).toEqual([[tool]]);
    expect(watching.changed(new Set())).toEqual([]);
    expect(watching.changed(new Set([tool]))).toEqual([
      `the root tool ${tool} (${tool}) was changed or replaced: the agent no longer runs it`,
    ]);
    expect(() => watching.resolve(tool)).toThrow(/a cell of this boot changed it/);
    // the helper did not take it, or gave no answer: node stats it
    for (const helper of [{ watchFiles: () => false }, null]) {
      const tools = new RootTools('unchecked');
      if (helper) tools.watchWith(helper);
      tools.resolve(tool);
      writeFileSync(tool, '#!/bin/sh\n\n');
      expect(tools.changed(helper ? new Set() : null)).toHaveLength(1);
    }
    // tools known before the helper started are given to it when it starts
    const early = new RootTools('unchecked');
    early.resolve(tool);
    early.watchWith({ watchFiles: (paths) => paths.includes(tool) });
    expect(early.changed(new Set([tool]))).toHaveLength(1);
  },
);

describe("the tool's content is the file the host vouched for", () => {
  const real = () => readFileSync('/usr/bin/true');
  const trueSha = createHash('sha256').update(real()).digest('hex');

  test("the plan's digest: accepted; a wrong one refused at first use, naming tool, file and package", () => {
    expect(new RootTools({ true: { sha256: trueSha, package: 'coreutils' } }).resolve('true')).toMatch(/\/bin\/true$/);
    const wrong = new RootTools({ true: { sha256: '0'.repeat(64), package: 'coreutils' } });
    expect(() => wrong.resolve('true')).toThrow(ToolError);
    expect(() => wrong.resolve('true')).toThrow(
      /^true: refused to run it as root: \/usr\/bin\/true is not the file the package coreutils installed on the host \(sha256 [0-9a-f]{64}, the plan's 0{64}\)$/,
    );
    expect(() => new RootTools({ true: { sha256: '0'.repeat(64), package: null } }).resolve('true')).toThrow(
      /is not the host's file/,
    );
  });

  test('a tool the plan does not name is refused; so is every tool before the plan is read', () => {
    expect(() => new RootTools({ true: { sha256: trueSha, package: null } }).resolve('false')).toThrow(
      /^false: the plan does not vouch for it/,
    );
    expect(() => new RootTools().resolve('true')).toThrow(/the plan does not vouch for it/);
    const later = new RootTools();
    later.vouchedBy({ true: { sha256: trueSha, package: null } });
    expect(later.resolve('true')).toMatch(/\/bin\/true$/);
  });

  test("the agent names its own tools only through commands.ts, which takes AGENT_TOOLS' names alone", () => {
    const dir = path.join(import.meta.dirname, '..', 'harness', 'guest');
    const direct = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'commands.ts' && f !== 'tools.ts')
      .filter((f) => /rootTools\.resolve/.test(readFileSync(path.join(dir, f), 'utf8')));
    expect(direct).toEqual([]);
  });
});

// the host's own package database: a tool of Debian's is vouched for by its md5 there
describe.runIf(hasDpkg && existsSync('/var/lib/dpkg/info/coreutils.list'))(
  'the host vouches for its tools by their package',
  () => {
    test("true (coreutils, listed as /bin/true under merged /usr) matches its md5; its sha256 is the plan's", () => {
      const t = hostTools(['true']).get('true');
      expect(t).toEqual({
        file: '/usr/bin/true',
        sha256: hexOf('sha256', '/usr/bin/true'),
        package: 'coreutils',
        md5Verified: true,
      });
    });

    // a link whose target another name owns: rmmod is kmod's /usr/bin/kmod
    test.runIf(existsSync('/var/lib/dpkg/info/kmod.list') && existsSync('/usr/sbin/rmmod'))(
      "rmmod is hashed as the file it links to, and that is kmod's",
      () => {
        expect(hostTools(['rmmod']).get('rmmod')).toMatchObject({
          file: '/usr/bin/kmod',
          package: 'kmod',
          md5Verified: true,
        });
      },
    );

    test.runIf(existsSync('/var/lib/dpkg/info/iproute2.list'))("ip and tc are iproute2's", () => {
      const tools = hostTools(['ip', 'tc']);
      expect([tools.get('ip')?.package, tools.get('tc')?.package]).toEqual(['iproute2', 'iproute2']);
    });
  },
);

test("a file no package owns is vouched for as the host's file only; a tool not on the host is left out", () => {
  const file = path.join(tempDir(), 'by-hand');
  writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
  const tools = hostTools([file, 'no-such-tool-capmatrix']);
  expect(tools.get(file)).toEqual({ file, sha256: hexOf('sha256', file), package: null });
  expect(tools.has('no-such-tool-capmatrix')).toBe(false);
});

/** A dpkg database of one installed package that owns `file` with `md5`. */
function fakeDpkg(file: string, md5: string, pkg = 'capmatrix-fake'): string {
  const admindir = tempDir();
  mkdirSync(path.join(admindir, 'info'));
  mkdirSync(path.join(admindir, 'updates'));
  const status = `Package: ${pkg}\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: x\n\n`;
  writeFileSync(path.join(admindir, 'status'), status);
  writeFileSync(path.join(admindir, 'info', `${pkg}.list`), `/.\n${path.dirname(file)}\n${file}\n`);
  writeFileSync(path.join(admindir, 'info', `${pkg}.md5sums`), `${md5}  ${file.slice(1)}\n`);
  return admindir;
}

describe.runIf(hasDpkg)('a tool its package did not install as it is', () => {
  test('a modified file is refused, naming the file, the package and both digests', () => {
    const file = path.join(tempDir(), 'modified');
    writeFileSync(file, 'not what was installed\n', { mode: 0o755 });
    const admindir = fakeDpkg(file, 'f'.repeat(32));
    expect(() => hostTools([file], admindir)).toThrow(
      `the root tool ${file}, ${file}, is not the file its package installed: md5 ${hexOf('md5', file)}, package capmatrix-fake: ${'f'.repeat(32)}`,
    );
  });

  test('the same file with the md5 its package lists is verified', () => {
    const file = path.join(tempDir(), 'as-installed');
    writeFileSync(file, 'as installed\n', { mode: 0o755 });
    const admindir = fakeDpkg(file, hexOf('md5', file));
    expect(hostTools([file], admindir).get(file)).toEqual({
      file,
      sha256: hexOf('sha256', file),
      package: 'capmatrix-fake',
      md5Verified: true,
    });
  });
});

test("the plan's tools: the agent's own and each command's program by name or absolute path", () => {
  const cell = (setup: string[][], teardown: string[][] = []) => guestCell({ setup, teardown });
  const names = rootToolNames([
    cell(
      [['sysctl', '-w', 'x=1'], ['{sample}', 'setup'], ['relative/tool'], ['/usr/bin/true']],
      [['chmod', 'o-x', '/x']],
    ),
  ]);
  expect(names).toEqual([...new Set([...AGENT_TOOLS, 'sysctl', '/usr/bin/true', 'chmod'])].sort());
  const digests = toolDigests([cell([['true']])]);
  expect(digests.true).toEqual({ sha256: hexOf('sha256', '/usr/bin/true'), package: hasDpkg ? 'coreutils' : null });
});
