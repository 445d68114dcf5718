// The guest agent's results file, read on the host as untrusted input. The host creates the file
// and keeps its own descriptor, opened before the VM starts, reading new bytes from a saved
// offset: the guest replacing the path by a FIFO, a symlink or another file changes nothing
// here. Every complete line is checked (framing, signature, sequence, schema: guest/protocol.ts)
// and must fit the protocol's order: provenance first, then per run `cell-start` and its `cell`
// (its window), searches and `end` only between windows. A line that does not is a violation,
// charged to the run whose window was open (or the last one that started).

import type { KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import {
  type CellRecord,
  decodeLine,
  type GuestRecord,
  type PrepareFigures,
  type ProvenanceRecord,
  publicKeyFrom,
  type SearchRecord,
} from '../guest/protocol.js';

export type { CellRecord, ObservedOutcome, ProvenanceRecord, SearchRecord } from '../guest/protocol.js';

/** A line the agent did not write, or that does not fit the protocol. */
export interface Violation {
  /** 1-based line number in the results file. */
  line: number;
  why: string;
  /** The run it is charged to: the one whose window was open, else the last that started. */
  key: string | null;
}

export interface GuestRecords {
  provenance: ProvenanceRecord | null;
  /** Run keys in the order their cells started. */
  started: string[];
  /** Finished runs by key (the first record for each key, inside its window). */
  cells: Map<string, CellRecord>;
  /** `capmatrix minimize`: each search's result (minimal sets, violations, runs). */
  searches: SearchRecord[];
  ended: boolean;
  /** Why the agent ended the boot before the plan's end (the end record): a cell left state it
   * could not undo; the runs after it go to a fresh boot. */
  endReason?: string;
  /** What making the sample copies cost (the end record), for the bench. */
  prepare: PrepareFigures | null;
  /** From the agent's first record to its first cell (ms, the end record). */
  firstCellMs: number | null;
  /** Each fingerprint part's median cost per cell (ms), from the end record. */
  fingerprint: Record<string, number> | null;
  /** Each part of a cell's housekeeping: its median cost per cell (ms), from the end record. */
  cellParts: Record<string, number> | null;
  /** Why the capability recorder did not run in this boot (the end record): its cells carry no
   * kernel checks, which the reports must say rather than show nothing. */
  recorderOff: string | null;
  violations: Violation[];
  /** The last line was cut short (the VM died mid-write): not a violation. */
  torn: boolean;
  /** Why the host stopped reading the file, if it did (too large). */
  stopped: string | null;
  /** When (host clock, ms) the last record the protocol accepted was read: beats included. */
  lastRecordAt: number | null;
}

/** Limits on what the host reads from a guest: nothing a guest writes can exhaust its memory. */
export const LIMITS = { fileBytes: 64 << 20, lineBytes: 1 << 20, readBytes: 4 << 20 };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class GuestRecordReader {
  readonly records: GuestRecords = {
    provenance: null,
    started: [],
    cells: new Map(),
    searches: [],
    ended: false,
    prepare: null,
    firstCellMs: null,
    fingerprint: null,
    cellParts: null,
    recorderOff: null,
    violations: [],
    torn: false,
    stopped: null,
    lastRecordAt: null,
  };
  private fd: number | null;
  private chunk: Buffer | undefined;
  private offset = 0;
  private pending = Buffer.alloc(0);
  private skippingLongLine = false;
  private lineNo = 0;
  private nextSeq = 0;
  private key: KeyObject | null = null;
  private open: string | null = null;

  /**
   * @param file the results file (opened without following links, and only if it is a regular file)
   * @param accepts whether a run key belongs to this boot's plan
   */
  constructor(
    readonly file: string,
    private readonly accepts: (key: string) => boolean,
  ) {
    this.fd = openRegular(file, this.records);
  }

  /** Reads what was added since the last call. */
  poll(): GuestRecords {
    if (this.fd === null || this.records.stopped) return this.records;
    // one buffer per reader: the watchdog polls four times a second
    this.chunk ??= Buffer.alloc(LIMITS.readBytes);
    const chunk = this.chunk;
    for (;;) {
      const room = LIMITS.fileBytes - this.offset;
      if (room <= 0) {
        this.stop(`the results file grew past ${LIMITS.fileBytes} bytes`);
        break;
      }
      const n = readSync(this.fd, chunk, 0, Math.min(chunk.length, room), this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.take(chunk.subarray(0, n));
    }
    return this.records;
  }

  /** Reads the rest and closes the file; a last line without its newline was torn. */
  finish(): GuestRecords {
    this.poll();
    if (this.pending.length > 0) this.records.torn = true;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    return this.records;
  }

  private stop(why: string): void {
    this.records.stopped = why;
    this.violate(why);
  }

  private take(bytes: Buffer): void {
    let data = Buffer.concat([this.pending, bytes]);
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      const line = data.subarray(0, nl);
      data = data.subarray(nl + 1);
      this.lineNo++;
      if (this.skippingLongLine) this.skippingLongLine = false;
      else if (line.length > LIMITS.lineBytes) this.violate(`a line longer than ${LIMITS.lineBytes} bytes`);
      else if (line.length > 0) this.line(line.toString('utf8'));
    }
    if (data.length > LIMITS.lineBytes) {
      this.lineNo++;
      this.violate(`a line longer than ${LIMITS.lineBytes} bytes`);
      this.skippingLongLine = true;
      data = Buffer.alloc(0);
    }
    this.pending = this.skippingLongLine ? Buffer.alloc(0) : Buffer.from(data);
  }

  private violate(why: string): void {
    this.records.violations.push({ line: this.lineNo, why, key: this.open ?? this.records.started.at(-1) ?? null });
  }

  private line(text: string): void {
    const decoded = decodeLine(text, this.key);
    if ('error' in decoded) {
      this.violate(decoded.error);
      return;
    }
    if (decoded.seq < this.nextSeq) {
      this.violate(`sequence number ${decoded.seq} where ${this.nextSeq} was due (a replayed or reordered line)`);
      return;
    }
    // a line of the agent's that never arrived whole: something wrote into the file at the same
    // time (the agent beats inside cells too) and mangled it. Its signature keeps anything else
    // out, so the agent's later lines are still its own: the gap is the running cell's violation.
    if (decoded.seq > this.nextSeq)
      this.violate(
        `the agent's line(s) ${this.nextSeq}…${decoded.seq - 1} did not arrive whole (mangled by another writer)`,
      );
    this.nextSeq = decoded.seq + 1;
    const outOfOrder = this.misplaced(decoded.record);
    if (outOfOrder) this.violate(outOfOrder);
    else this.accept(decoded.record);
  }

  /** Why a well-formed, signed record is out of the protocol's order, or null. */
  private misplaced(r: GuestRecord): string | null {
    const r0 = this.records;
    if (r.type === 'provenance') return r0.provenance ? 'a second provenance record' : null;
    if (!r0.provenance) return `a ${r.type} record before the provenance record`;
    if (r0.ended) return `a ${r.type} record after the end record`;
    if (r.type === 'beat') return null;
    if (r.type === 'cell') return r.key === this.open ? null : `a cell record for ${r.key} outside its window`;
    if (this.open) return `a ${r.type} record while ${this.open} was running`;
    if (r.type !== 'cell-start') return null;
    if (!this.accepts(r.key)) return `cell-start for ${r.key}, which this boot's plan does not have`;
    return r0.started.includes(r.key) ? `a second cell-start for ${r.key}` : null;
  }

  private accept(r: GuestRecord): void {
    const r0 = this.records;
    r0.lastRecordAt = Date.now();
    if (r.type === 'beat') return;
    if (r.type === 'provenance') {
      r0.provenance = r;
      this.key = publicKeyFrom(r.publicKey);
    } else if (r.type === 'cell-start') {
      r0.started.push(r.key);
      this.open = r.key;
    } else if (r.type === 'cell') {
      r0.cells.set(r.key, r);
      this.open = null;
    } else if (r.type === 'search') r0.searches.push(r);
    else {
      r0.ended = true;
      r0.prepare = r.prepare ?? null;
      r0.firstCellMs = r.firstCellMs ?? null;
      r0.fingerprint = r.fingerprint ?? null;
      r0.cellParts = r.cellParts ?? null;
      r0.recorderOff = r.capWatch ?? null;
      if (r.reason) r0.endReason = r.reason;
    }
  }
}

/** Opens a guest-writable file for reading only if it is a regular file (no link, FIFO, device). */
function openRegular(file: string, records: GuestRecords): number | null {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') records.stopped = `cannot open ${file}: ${code === 'ELOOP' ? 'a symbolic link' : code}`;
    return null;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    records.stopped = `${file} is not a regular file`;
    return null;
  }
  return fd;
}

/** A finished boot's records, read afterwards by path (a resumed run's, after the harness died). */
export function readGuestRecords(file: string, accepts: (key: string) => boolean): GuestRecords {
  return new GuestRecordReader(file, accepts).finish();
}
