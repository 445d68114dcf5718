// The samples' copies, made once per boot: one root-owned copy of each (binary, capability set)
// the plan runs, every file capability set by one setcap and read back by one getcap (each is an
// exec, ~90 ms under TCG). Each binary is read from the host's share once (9p reads cost ~140 ms a
// sample under TCG); its other copies come from that local one. Cells run the copy where it
// stands. After each cell the copies are checked unchanged: a cell holding CAP_DAC_OVERRIDE, CAP_FOWNER or CAP_SYS_ADMIN could write,
// rename or mount over one, and the next cell must not run what it left.
import fs from 'node:fs';
import path from 'node:path';
import { shapeOf } from '../dsl/grants.js';
import type { InfraKind } from '../dsl/vocabulary.js';
import { since } from './clock.js';
import { runAsRoot } from './commands.js';
import type { GuestCell, PrepareFigures } from './protocol.js';
import type { FileWatcher } from './state-reader.js';

/** Caps listed by `getcap FILE` ("FILE cap_a,cap_b=ep"), as sorted upper-case names. */
export function parseGetcap(text: string): string[] {
  const m = /\s(\S+)=ep$/.exec(text.trim());
  return m?.[1]
    ? m[1]
        .split(',')
        .map((c) => c.toUpperCase())
        .sort()
    : [];
}

type PrepError = { kind: InfraKind; detail: string };

interface Copy {
  file: string;
  /** The setcap text, or null: no file capabilities (root, or the empty set). */
  caps: string | null;
  want: string[];
  /** stat of the copy as verified: any write, chmod, xattr, rename or mount over it changes it. */
  fingerprint: string;
  /** The state helper watches it and its directory (else node compares `fingerprint`). */
  watched: boolean;
  error: PrepError | null;
}

function statOf(file: string): string {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st) return 'missing';
  return [st.dev, st.ino, st.mode, st.uid, st.gid, st.size, st.mtimeNs, st.ctimeNs].join(':');
}

/** The file and the directory that holds only it: an entry added, a mode opened, a mount over either. */
const fingerprint = (file: string) => `${statOf(file)} ${statOf(path.dirname(file))}`;

/** What `setcap` gives the cell's copy; null: none (root, the empty set, a grant without file capabilities). */
function capsText(cell: GuestCell): string | null {
  if (cell.caps === 'root' || cell.caps.length === 0 || !shapeOf(cell.grant).fileCaps) return null;
  return `${cell.caps.map((c) => c.toLowerCase()).join(',')}+ep`;
}

const keyOf = (cell: GuestCell) => `${cell.binary}\0${capsText(cell) ?? ''}`;

export class SampleCopies {
  /** Where the copies are (the overlay check leaves it to changed()). */
  readonly dir = fs.mkdtempSync('/tmp/capmatrix-samples-');
  private readonly copies = new Map<string, Copy>();
  /** Each binary's one local copy read from the host (no capabilities, never run). */
  private readonly sources = new Map<string, { file: string; fingerprint: string; watched: boolean }>();
  /** The state helper, once it runs: it checks the files after each cell (one round trip where
   * node's stat of each cost ~8 ms a cell under TCG). */
  private watcher: FileWatcher | null = null;
  private sourcesMade = 0;
  /** What the copies cost this boot, for the bench (BENCHMARKS.md). */
  readonly figures: PrepareFigures = { files: 0, copyMs: 0, setcapMs: 0, verifyMs: 0 };

  constructor() {
    fs.chmodSync(this.dir, 0o755);
  }

  /** Makes the copies of these cells that are not made yet: one setcap, one getcap. */
  prepare(cells: GuestCell[]): void {
    const fresh: Copy[] = [];
    for (const cell of cells) {
      const key = keyOf(cell);
      if (this.copies.has(key)) continue;
      const copy = this.copyOf(cell);
      this.copies.set(key, copy);
      fresh.push(copy);
    }
    const withCaps = fresh.filter((c) => c.caps && !c.error);
    this.setcap(withCaps);
    this.verify(withCaps);
    const made = fresh.filter((c) => !c.error);
    for (const c of made) c.fingerprint = fingerprint(c.file);
    const sources = [...this.sources.values()].filter((s) => !s.watched);
    const paths = [...sources.map((s) => s.file), ...made.flatMap((c) => [c.file, path.dirname(c.file)])];
    const watched = paths.length > 0 && (this.watcher?.watchFiles(paths) ?? false);
    for (const x of [...sources, ...made]) x.watched = watched;
  }

  /** From now on the state helper checks the copies made after this. */
  watchWith(watcher: FileWatcher): void {
    this.watcher = watcher;
  }

  /** The copy a cell runs, made now if the plan did not have it (a search's cells). */
  fileFor(cell: GuestCell): { file: string } | PrepError {
    if (!this.copies.has(keyOf(cell))) this.prepare([cell]);
    const copy = this.copies.get(keyOf(cell));
    if (!copy) return { kind: 'setup-failed', detail: `no copy of ${cell.binary}` };
    return copy.error ?? { file: copy.file };
  }

  /** Copies that changed since they were verified: forgotten (made again when next used).
   * `helperSaw`: what the state helper found changed of what it watches (null: no answer). */
  changed(helperSaw: Set<string> | null = null): string[] {
    const problems: string[] = [];
    const byHelper = (watched: boolean) => watched && helperSaw !== null;
    for (const [binary, src] of this.sources) {
      const same = byHelper(src.watched) ? !helperSaw?.has(src.file) : statOf(src.file) === src.fingerprint;
      if (same) continue;
      this.sources.delete(binary);
      problems.push(`the local copy ${src.file} of ${binary} was changed: read again from the host for later cells`);
    }
    for (const [key, c] of this.copies) {
      if (c.error) continue;
      const same = byHelper(c.watched)
        ? !helperSaw?.has(c.file) && !helperSaw?.has(path.dirname(c.file))
        : fingerprint(c.file) === c.fingerprint;
      if (same) continue;
      this.copies.delete(key);
      problems.push(`the sample copy ${c.file} was changed (write, chmod, xattr or mount): made again for later cells`);
    }
    return problems;
  }

  private copyOf(cell: GuestCell): Copy {
    const t = performance.now();
    const sub = path.join(this.dir, String(++this.figures.files));
    const file = path.join(sub, cell.sample);
    const copy: Copy = {
      file,
      caps: capsText(cell),
      want: capsText(cell) && cell.caps !== 'root' ? [...cell.caps].sort() : [],
      fingerprint: '',
      watched: false,
      error: null,
    };
    try {
      fs.mkdirSync(sub, { mode: 0o755 });
      fs.copyFileSync(this.sourceOf(cell.binary), file);
      fs.chmodSync(file, 0o755);
    } catch (e) {
      copy.error = { kind: 'setup-failed', detail: `copy ${cell.binary}: ${(e as Error).message}` };
    }
    this.figures.copyMs += since(t);
    return copy;
  }

  private sourceOf(binary: string): string {
    const known = this.sources.get(binary);
    if (known) return known.file;
    const file = path.join(this.dir, `source-${++this.sourcesMade}-${path.basename(binary)}`);
    fs.rmSync(file, { force: true }); // whatever a cell put there is not followed
    fs.copyFileSync(binary, file);
    fs.chmodSync(file, 0o644);
    this.sources.set(binary, { file, fingerprint: statOf(file), watched: false });
    return file;
  }

  /** `setcap caps file caps file …`; where that fails, file by file, so each error is its own. */
  private setcap(copies: Copy[]): void {
    if (copies.length === 0) return;
    const t = performance.now();
    const all = runAsRoot(
      'setcap',
      copies.flatMap((c) => [c.caps ?? '', c.file]),
    );
    if (!all.ok)
      for (const c of copies) {
        const r = runAsRoot('setcap', [c.caps ?? '', c.file]);
        if (!r.ok) c.error = { kind: 'setup-failed', detail: `setcap ${c.caps}: ${r.out}` };
      }
    this.figures.setcapMs += since(t);
  }

  /** One getcap over every copy: each must show exactly the cell's capabilities. */
  private verify(copies: Copy[]): void {
    const ok = copies.filter((c) => !c.error);
    if (ok.length === 0) return;
    const t = performance.now();
    const lines = runAsRoot(
      'getcap',
      ok.map((c) => c.file),
    ).out.split('\n');
    for (const c of ok) {
      const got = parseGetcap(lines.find((l) => l.startsWith(`${c.file} `)) ?? '');
      if (got.join(',') !== c.want.join(','))
        c.error = {
          kind: 'caps-not-applied',
          detail: `getcap shows [${got.join(',')}], the cell asks for [${c.want.join(',')}]`,
        };
    }
    this.figures.verifyMs += since(t);
  }
}
