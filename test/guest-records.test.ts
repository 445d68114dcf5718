// The host's reading of a guest's results file: untrusted input. Every line is the agent's
// (signed, numbered, in the protocol's order) or a violation charged to the run that was going;
// the file itself can be swapped for a FIFO, a symlink or a huge file without hurting the host.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { newSigner } from '../harness/guest/protocol.js';
import { bootAttempts } from '../harness/outcome/attempts.js';
import { GuestRecordReader, LIMITS, readGuestRecords } from '../harness/outcome/guest-records.js';
import { cellRecord, guestLines } from './guest-lines.js';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'capmatrix-records-'));
const planned = new Set(['k/a#1', 'k/b#1']);
const accepts = (k: string) => planned.has(k);
const start = (key: string) => ({ type: 'cell-start' as const, id: key, key, t: 1 });
const cell = (key: string) => cellRecord(key, key);

function fileWith(text: string): string {
  const f = path.join(dir(), 'guest-results.jsonl');
  writeFileSync(f, text);
  return f;
}

describe('each line is the agent’s, in order', () => {
  const signer = newSigner();
  const good = guestLines(
    'boot',
    [start('k/a#1'), cell('k/a#1'), start('k/b#1'), cell('k/b#1'), { type: 'end', t: 2 }],
    signer,
  );

  test('a well-formed boot: every run, the end, no violation', () => {
    const r = readGuestRecords(fileWith(good.join('')), accepts);
    expect([...r.cells.keys()]).toEqual(['k/a#1', 'k/b#1']);
    expect(r.ended).toBe(true);
    expect(r.violations).toEqual([]);
  });

  test("the agent's heartbeat is accepted anywhere between provenance and end, and dates the last record", () => {
    const beat = { type: 'beat' as const, t: 1 };
    const lines = guestLines('boot', [beat, start('k/a#1'), beat, cell('k/a#1'), beat, { type: 'end', t: 2 }, beat]);
    const before = Date.now();
    const r = readGuestRecords(fileWith(lines.join('')), accepts);
    expect([...r.cells.keys()]).toEqual(['k/a#1']);
    expect(r.lastRecordAt).toBeGreaterThanOrEqual(before);
    // a beat after the end is out of the protocol like any record
    expect(r.violations.map((v) => v.why)).toEqual(['a beat record after the end record']);
  });

  test("an agent line mangled by a concurrent writer: the gap is the running cell's violation, later lines count", () => {
    const beat = { type: 'beat' as const, t: 1 };
    const lines = guestLines('boot', [start('k/a#1'), beat, cell('k/a#1'), start('k/b#1'), cell('k/b#1')], signer);
    // the beat (seq 2) written while a root cell wrote garbage through the agent's descriptor
    const mangled = [lines[0], lines[1], 'FORGED{"x":1}\n', `${lines[2]?.slice(0, 30)}…garbage\n`, ...lines.slice(3)];
    const r = readGuestRecords(fileWith(mangled.join('')), accepts);
    expect([...r.cells.keys()]).toEqual(['k/a#1', 'k/b#1']);
    expect(r.violations.map((v) => v.key)).toEqual(['k/a#1', 'k/a#1', 'k/a#1']);
    expect(r.violations.at(-1)?.why).toMatch(/line\(s\) 2…2 did not arrive whole/);
  });

  test.each([
    ['an unsigned record for another cell', JSON.stringify({ seq: 3, ...cell('k/b#1') })],
    ['a record signed with another key', newSigner().line(3, cell('k/b#1')).trimEnd()],
    ['a replayed line of the agent', good[1]?.trimEnd() ?? ''],
    ['not JSON at all', 'garbage\tAAAA'],
  ])('%s inside a window is a violation charged to that run, and changes nothing', (_name, forged) => {
    // the forged line comes while k/a#1 runs, before the agent's own record of it
    const text = [good[0], good[1], `${forged}\n`, ...good.slice(2)].join('');
    const r = readGuestRecords(fileWith(text), accepts);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatchObject({ line: 3, key: 'k/a#1' });
    expect(r.cells.get('k/b#1')?.observed?.outcome).toBe('ok');
    expect(r.ended).toBe(true);
  });

  test('signed records out of the protocol: a cell outside its window, an unplanned key, an early end', () => {
    const lines = guestLines(
      'boot',
      [
        start('k/a#1'),
        cell('k/b#1'),
        cell('k/a#1'),
        start('k/zzz#1'),
        start('k/b#1'),
        { type: 'end', t: 1 },
        cell('k/b#1'),
      ],
      signer,
    );
    const r = readGuestRecords(fileWith(lines.join('')), accepts);
    expect(r.violations.map((v) => v.why)).toEqual([
      'a cell record for k/b#1 outside its window',
      "cell-start for k/zzz#1, which this boot's plan does not have",
      'a end record while k/b#1 was running',
    ]);
    expect([...r.cells.keys()]).toEqual(['k/a#1', 'k/b#1']);
    expect(r.ended).toBe(false);
  });

  test('an end with a reason (state a cell could not undo) ends the boot early: the runs after it are not charged', () => {
    const reason = 'after k/a#1: state the agent could not undo: kernel.unprivileged_bpf_disabled 2 → 1';
    const lines = guestLines('boot', [start('k/a#1'), cell('k/a#1'), { type: 'end', t: 2, reason }], signer);
    const r = readGuestRecords(fileWith(lines.join('')), accepts);
    expect([r.ended, r.endReason, r.violations]).toEqual([true, reason, []]);
    const runs = [...planned].map((key) => ({ key, rep: 1, cell: { kernel: 'k', id: key } }));
    const vm = { ended: 'exited' as const, exitCode: 0, signal: null };
    const attempts = bootAttempts(runs as never, r, vm, 'boot', '');
    expect(attempts.map((a) => a.key)).toEqual(['k/a#1']);
  });

  test('a torn last line is not a violation', () => {
    const r = readGuestRecords(fileWith(`${good.slice(0, 2).join('')}{"seq":2,"ty`), accepts);
    expect(r.torn).toBe(true);
    expect(r.violations).toEqual([]);
  });
});

describe('the file itself is hostile', () => {
  test('a FIFO at the path is not read (and does not block)', () => {
    const f = path.join(dir(), 'guest-results.jsonl');
    execFileSync('mkfifo', [f]);
    const r = readGuestRecords(f, accepts);
    expect(r.stopped).toMatch(/not a regular file/);
    expect(r.provenance).toBeNull();
  });

  test('a symlink at the path is not followed', () => {
    const d = dir();
    const f = path.join(d, 'guest-results.jsonl');
    writeFileSync(path.join(d, 'secret'), guestLines('boot', []).join(''));
    symlinkSync(path.join(d, 'secret'), f);
    const r = readGuestRecords(f, accepts);
    expect(r.stopped).toMatch(/symbolic link/);
    expect(r.provenance).toBeNull();
  });

  test('a file swapped after the host opened it: the host keeps reading the file it created', () => {
    const d = dir();
    const f = path.join(d, 'guest-results.jsonl');
    const signer = newSigner();
    const lines = guestLines('boot', [start('k/a#1'), cell('k/a#1'), { type: 'end', t: 1 }], signer);
    writeFileSync(f, lines[0] ?? '');
    const reader = new GuestRecordReader(f, accepts);
    renameSync(f, path.join(d, 'moved'));
    execFileSync('mkfifo', [f]);
    appendFileSync(path.join(d, 'moved'), lines.slice(1).join(''));
    const r = reader.finish();
    expect(r.cells.get('k/a#1')).toBeDefined();
    expect(r.ended).toBe(true);
  });

  test('a file past the size limit: the host stops reading and says why', () => {
    const f = fileWith(guestLines('boot', []).join(''));
    const big = Buffer.alloc(LIMITS.lineBytes - 1, 'x');
    for (let i = 0; i * LIMITS.lineBytes <= LIMITS.fileBytes; i++)
      appendFileSync(f, Buffer.concat([big, Buffer.from('\n')]));
    const r = readGuestRecords(f, accepts);
    expect(r.stopped).toMatch(/grew past/);
    expect(r.provenance).not.toBeNull();
  });

  test('an endless line is cut at the line limit, as one violation', () => {
    const f = fileWith(guestLines('boot', []).join(''));
    appendFileSync(f, Buffer.alloc(LIMITS.lineBytes * 3, 'y'));
    appendFileSync(f, '\n');
    const r = readGuestRecords(f, accepts);
    expect(r.violations.map((v) => v.why)).toEqual([`a line longer than ${LIMITS.lineBytes} bytes`]);
  });
});
