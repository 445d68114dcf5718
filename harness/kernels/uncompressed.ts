// The kernel as QEMU can boot it without decompressing it first: the ELF inside a bzImage,
// booted through its PVH entry. Under TCG the bzImage's own decompressor runs emulated before
// the kernel's clock starts (~0.5 s a boot for zstd, more for xz: BENCHMARKS.md); the host
// decompresses once per kernel instead. Made beside the image (boot/vmlinux-<release>, where vng
// finds the modules and reads the release with `strings`), with a record of the image it came
// from; used only when that record, the file's hash and the PVH note all hold, else the bzImage.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../write-atomic.js';
import { sha256File } from './debian-archive.js';
import type { KernelInfo } from './kernel-info.js';

/** Where each compressor's stream starts in a bzImage, and the tool that reads it from stdin. */
const FORMATS = [
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), argv: ['zstd', '-d', '-q', '-c'] },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), argv: ['xz', '-d', '-q', '-c'] },
  { magic: Buffer.from([0x1f, 0x8b, 0x08]), argv: ['gzip', '-d', '-q', '-c'] },
];

/** QEMU's option ROM for a PVH entry (the x86 machines load it for an ELF -kernel). */
const PVH_ROM = '/usr/share/qemu/pvh.bin';

/** Whether an ELF64 file carries Xen's PHYS32_ENTRY note (type 18): the PVH entry QEMU uses. */
export function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(32));
  const [phentsize, phnum] = [elf.readUInt16LE(54), elf.readUInt16LE(56)];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const [start, size] = [Number(elf.readBigUInt64LE(ph + 8)), Number(elf.readBigUInt64LE(ph + 32))];
    for (let n = start; n + 12 <= Math.min(start + size, elf.length); ) {
      const [namesz, descsz, type] = [elf.readUInt32LE(n), elf.readUInt32LE(n + 4), elf.readUInt32LE(n + 8)];
      const name = elf.toString('latin1', n + 12, n + 12 + namesz).replace(/\0+$/, '');
      if (name === 'Xen' && type === 18) return true;
      n += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/** Whether every segment and the section header table (written last) lie inside the file: a
 * stream cut short would still start with the ELF magic. */
export function elfComplete(elf: Buffer): boolean {
  if (elf.length < 64) return false;
  const shEnd = Number(elf.readBigUInt64LE(40)) + elf.readUInt16LE(58) * elf.readUInt16LE(60);
  const phoff = Number(elf.readBigUInt64LE(32));
  for (let i = 0; i < elf.readUInt16LE(56); i++) {
    const ph = phoff + i * elf.readUInt16LE(54);
    if (ph + 56 > elf.length) return false;
    if (Number(elf.readBigUInt64LE(ph + 8)) + Number(elf.readBigUInt64LE(ph + 32)) > elf.length) return false;
  }
  return shEnd <= elf.length;
}

/** The first compressed stream in `image` that decompresses to an ELF, written to `out`. */
function decompressInto(image: Buffer, out: string): string | null {
  const tried: string[] = [];
  for (const { magic, argv } of FORMATS) {
    for (let at = image.indexOf(magic); at >= 0; at = image.indexOf(magic, at + 1)) {
      const fd = openSync(out, 'w', 0o644);
      const r = spawnSync(argv[0] ?? '', argv.slice(1), { input: image.subarray(at), stdio: ['pipe', fd, 'pipe'] });
      closeSync(fd);
      // a bzImage's stream is followed by the rest of the image: the tool may then complain
      const head = readFileSync(out).subarray(0, 4);
      if (!r.error && head.readUInt32BE(0) === 0x7f454c46) return null;
      tried.push(`${argv[0]} at ${at}: ${r.error?.message ?? 'not an ELF'}`);
      if (r.error) break;
    }
  }
  return tried.length ? tried.join('; ') : 'no zstd, xz or gzip stream in the image';
}

type MadeFrom = { from: string; sha256: string };

/** Checked once per image and process (hashing it costs ~0.2 s). */
const known = new Map<string, { file: string | null; why: string }>();

/** The uncompressed kernel to boot, made on first use; null (with why) to boot the bzImage. */
export function uncompressedKernel(kernel: Pick<KernelInfo, 'vmlinuz' | 'vmlinuzSha256' | 'release'>): {
  file: string | null;
  why: string;
} {
  const key = `${kernel.vmlinuz}\0${kernel.vmlinuzSha256}`;
  const found = known.get(key) ?? makeUncompressed(kernel);
  known.set(key, found);
  return found;
}

function makeUncompressed(kernel: Pick<KernelInfo, 'vmlinuz' | 'vmlinuzSha256' | 'release'>): {
  file: string | null;
  why: string;
} {
  if (!existsSync(PVH_ROM)) return { file: null, why: `${PVH_ROM} is missing: this QEMU cannot boot a PVH entry` };
  const file = path.join(path.dirname(kernel.vmlinuz), `vmlinux-${kernel.release}`);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    if (madeBefore(file, kernel.vmlinuzSha256)) return { file, why: 'made before from this image' };
    const problem = decompressInto(readFileSync(kernel.vmlinuz), tmp);
    if (problem) return { file: null, why: `${kernel.vmlinuz} could not be decompressed: ${problem}` };
    const elf = readFileSync(tmp);
    if (!elfComplete(elf)) return { file: null, why: 'the decompressed kernel is cut short' };
    if (!hasPvhEntry(elf)) return { file: null, why: 'the kernel has no PVH entry (CONFIG_PVH)' };
    if (!elf.includes(`Linux version ${kernel.release} `))
      return { file: null, why: `no "Linux version ${kernel.release}" in it (vng reads the release from it)` };
    renameSync(tmp, file);
    writeFileAtomic(recordOf(file), `${JSON.stringify({ from: kernel.vmlinuzSha256, sha256: sha256File(file) })}\n`);
    return { file, why: 'decompressed from the image' };
  } catch (e) {
    // a cache this user cannot write, a record cut short: the bzImage boots as it always did
    return { file: null, why: `${file}: ${(e as Error).message}` };
  } finally {
    rmSync(tmp, { force: true });
  }
}

const recordOf = (file: string) => `${file}.capmatrix.json`;

/** The file was made from this image and is still what was made. */
function madeBefore(file: string, imageSha256: string): boolean {
  if (!existsSync(recordOf(file)) || !existsSync(file)) return false;
  const record = JSON.parse(readFileSync(recordOf(file), 'utf8')) as MadeFrom;
  return record.from === imageSha256 && sha256File(file) === record.sha256;
}
