// The agent's side of the results file: one signed, numbered line per record (protocol.ts),
// fsync'd before the next cell starts. The file is opened once; then vng's --rwdir mount is
// detached (umount -l), so the agent's descriptor is the only way to it left in the guest.
import fs from 'node:fs';
import { runAsRoot } from './commands.js';
import { readTrim } from './proc.js';
import { type GuestRecord, newSigner } from './protocol.js';

export class RecordWriter {
  private readonly fd: number;
  private readonly signer = newSigner();
  private seq = 0;

  constructor(results: string) {
    this.fd = fs.openSync(results, 'a');
  }

  get publicKey(): string {
    return this.signer.publicKey;
  }

  /** Appends the record and fsyncs it; returns what the write and fsync took (ms). */
  emit(record: GuestRecord): number {
    const line = this.signer.line(this.seq++, record);
    const t = performance.now();
    fs.writeSync(this.fd, line);
    fs.fsyncSync(this.fd);
    return Math.round((performance.now() - t) * 10) / 10;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Detaches the rwdir mount; afterwards its path is an empty read-only tmpfs, never the writable
 * share (nor the host's copy of the results below it, in the guest's /tmp overlay, where a cell
 * with CAP_DAC_OVERRIDE could write a change the overlay check cannot undo). */
export function detachRwdir(rwdir: string): { detached: boolean; detail: string } {
  const r = runAsRoot('umount', ['-l', rwdir]);
  const shareAt = () =>
    (readTrim('/proc/self/mountinfo') ?? '')
      .split('\n')
      .some((l) => l.split(' ')[4] === rwdir && l.split(' - ')[1]?.startsWith('9p '));
  if (!r.ok || shareAt()) return { detached: false, detail: `umount -l ${rwdir}: ${r.out || 'still mounted'}` };
  const covered = runAsRoot('mount', ['-t', 'tmpfs', '-o', 'ro,size=4k,mode=0555', 'capmatrix-detached', rwdir]);
  if (!covered.ok) return { detached: false, detail: `${rwdir}: an empty tmpfs could not cover it: ${covered.out}` };
  return {
    detached: true,
    detail: `${rwdir} detached after the results file was opened, an empty read-only tmpfs over it`,
  };
}
