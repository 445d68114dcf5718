// A signed InRelease judged as apt judges it: gpgv's status lines, not its exit status (a suite
// co-signed by a key the keyring lacks makes gpgv exit 2 although another signature is valid);
// then the signed fields: the suite asked for, not expired (when apt here checks that), and not
// older than the newest one seen for that suite in the cache (a replayed index).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';

export class VerificationError extends Error {
  override name = 'VerificationError';
}

/** What gpgv's --status-fd said about each signature. */
export interface SignatureStatus {
  /** Fingerprints of signatures made by keys the keyring holds, and good. */
  valid: string[];
  /** Why the file must be refused: a bad, revoked or expired signature. */
  refused: string[];
  /** Signatures by keys the keyring does not hold (ignored when another one is valid). */
  unknown: string[];
}

export function parseGpgvStatus(text: string): SignatureStatus {
  const s: SignatureStatus = { valid: [], refused: [], unknown: [] };
  for (const line of text.split('\n')) {
    const m = /^\[GNUPG:\] (\S+)(?: (.*))?$/.exec(line.trim());
    if (!m) continue;
    const [, what = '', rest = ''] = m;
    if (what === 'VALIDSIG') s.valid.push(rest.split(' ')[0] ?? '');
    else if (['BADSIG', 'REVKEYSIG', 'EXPKEYSIG', 'EXPSIG'].includes(what)) s.refused.push(`${what} ${rest}`.trim());
    else if (what === 'NO_PUBKEY') s.unknown.push(rest);
  }
  return s;
}

/** Runs gpgv on a clearsigned file; returns the signed text and the signatures' status. */
export function gpgvVerify(file: string, keyring: string): { text: string; status: SignatureStatus } {
  if (!existsSync(keyring)) throw new VerificationError(`${keyring} is missing: install debian-archive-keyring`);
  const r = run('gpgv', ['--status-fd', '2', '--keyring', keyring, '--output', '-', file]);
  if (r.status === null) throw new VerificationError(`gpgv: ${r.why}`);
  const status = parseGpgvStatus(r.stderr);
  if (status.refused.length) throw new VerificationError(`${file}: refused signature (${status.refused.join('; ')})`);
  if (status.valid.length === 0)
    throw new VerificationError(
      `${file}: bad or unknown signature: no valid signature by a key of ${keyring}${status.unknown.length ? ` (unknown keys: ${status.unknown.join(', ')})` : ''}`,
    );
  return { text: r.stdout, status };
}

/** A field of a Release file's header ("Suite", "Date", …). */
export function releaseField(release: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(release)?.[1]?.trim();
}

/** Whether apt here refuses expired Release files (Acquire::Check-Valid-Until, default true). */
export function aptChecksValidUntil(): boolean {
  const r = run('apt-config', ['shell', 'V', 'Acquire::Check-Valid-Until']);
  return !/V='(false|no|0)'/i.test(r.stdout);
}

export interface ReleaseChecks {
  /** The suite or codename asked for (dists/<suite>/InRelease). */
  suite: string;
  now?: Date;
  checkValidUntil?: boolean;
  /** Where the newest Date seen for this suite is kept. */
  seenFile?: string;
}

/** Checks the signed fields of a Release; throws VerificationError naming what is wrong. */
export function checkRelease(release: string, o: ReleaseChecks): { date: Date } {
  const suite = releaseField(release, 'Suite');
  const codename = releaseField(release, 'Codename');
  if (o.suite !== suite && o.suite !== codename)
    throw new VerificationError(
      `InRelease of ${o.suite} is signed for Suite ${suite}, Codename ${codename}: another suite's`,
    );
  const now = o.now ?? new Date();
  const date = new Date(releaseField(release, 'Date') ?? 'invalid');
  if (Number.isNaN(date.getTime())) throw new VerificationError(`InRelease of ${o.suite} has no Date`);
  if (date.getTime() > now.getTime() + 10 * 60_000)
    throw new VerificationError(`InRelease of ${o.suite} is dated ${date.toISOString()}, in the future`);
  const until = releaseField(release, 'Valid-Until');
  if (until && (o.checkValidUntil ?? true) && new Date(until).getTime() < now.getTime())
    throw new VerificationError(`InRelease of ${o.suite} expired at ${until} (apt's Acquire::Check-Valid-Until is on)`);
  if (o.seenFile) checkNotReplayed(o.seenFile, o.suite, date);
  return { date };
}

/** Refuses a Release older than the newest one seen for the suite; remembers a newer one. */
function checkNotReplayed(seenFile: string, suite: string, date: Date): void {
  const seen = existsSync(seenFile) ? new Date(readFileSync(seenFile, 'utf8').trim()) : null;
  if (seen && date.getTime() < seen.getTime())
    throw new VerificationError(
      `InRelease of ${suite} is dated ${date.toISOString()}, older than the ${seen.toISOString()} one seen before: a replayed index`,
    );
  if (!seen || date.getTime() > seen.getTime()) {
    mkdirSync(path.dirname(seenFile), { recursive: true });
    writeFileSync(seenFile, `${date.toISOString()}\n`);
  }
}
