// The uncompressed kernel is used only when it is whole and has a PVH entry: a synthetic ELF64
// with one PT_NOTE, the real kernels' in test/vm (faults.test.ts: every boot there boots one).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { elfComplete, hasPvhEntry, uncompressedKernel } from '../harness/kernels/uncompressed.js';

/** An ELF64 header, one PT_NOTE program header over one note, no sections. */
function elfWithNote(name: string, type: number): Buffer {
  const nameBytes = Buffer.alloc(Math.ceil((name.length + 1) / 4) * 4);
  nameBytes.write(name, 'latin1');
  const note = Buffer.concat([Buffer.alloc(12), nameBytes, Buffer.alloc(8)]);
  note.writeUInt32LE(name.length + 1, 0);
  note.writeUInt32LE(8, 4);
  note.writeUInt32LE(type, 8);
  const elf = Buffer.alloc(64 + 56);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // ELFCLASS64
  elf.writeBigUInt64LE(64n, 32); // e_phoff
  elf.writeUInt16LE(56, 54); // e_phentsize
  elf.writeUInt16LE(1, 56); // e_phnum
  elf.writeUInt32LE(4, 64); // PT_NOTE
  elf.writeBigUInt64LE(BigInt(elf.length), 64 + 8); // p_offset
  elf.writeBigUInt64LE(BigInt(note.length), 64 + 32); // p_filesz
  return Buffer.concat([elf, note]);
}

describe('uncompressed kernel', () => {
  test("Xen's PHYS32_ENTRY note (type 18) is the PVH entry; another note or owner is not", () => {
    expect(hasPvhEntry(elfWithNote('Xen', 18))).toBe(true);
    expect(hasPvhEntry(elfWithNote('Xen', 6))).toBe(false);
    expect(hasPvhEntry(elfWithNote('Linux', 18))).toBe(false);
    expect(hasPvhEntry(Buffer.alloc(128, 'not an ELF '))).toBe(false);
  });

  test('a file cut inside a segment is not whole', () => {
    const elf = elfWithNote('Xen', 18);
    expect(elfComplete(elf)).toBe(true);
    expect(elfComplete(elf.subarray(0, elf.length - 4))).toBe(false);
  });

  test('a bzImage-like file: its gzip stream is found past the header, decompressed once, recorded with the image it came from', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-kernel-'));
    mkdirSync(path.join(dir, 'boot'));
    const elf = Buffer.concat([elfWithNote('Xen', 18), Buffer.from('Linux version 9.9.9-test (x) #1\0')]);
    const vmlinuz = path.join(dir, 'boot', 'vmlinuz-9.9.9-test');
    // a setup header before the stream and the rest of the image after it, as in a bzImage
    writeFileSync(vmlinuz, Buffer.concat([Buffer.alloc(512, 1), gzipSync(elf), Buffer.alloc(64, 2)]));
    const made = uncompressedKernel({ vmlinuz, vmlinuzSha256: 'a'.repeat(64), release: '9.9.9-test' });
    expect(made).toEqual({ file: path.join(dir, 'boot', 'vmlinux-9.9.9-test'), why: 'decompressed from the image' });
    expect(readFileSync(made.file ?? '')).toEqual(elf);
    expect(JSON.parse(readFileSync(`${made.file}.capmatrix.json`, 'utf8')).from).toBe('a'.repeat(64));
    // another release string than the image's: vng could not find its modules, the bzImage boots
    const other = uncompressedKernel({ vmlinuz, vmlinuzSha256: 'b'.repeat(64), release: '9.9.8' });
    expect(other.file).toBeNull();
    expect(other.why).toMatch(/no "Linux version 9.9.8"/);
    expect(existsSync(path.join(dir, 'boot', 'vmlinux-9.9.8'))).toBe(false);
  });

  test('an image that cannot be read leaves the bzImage to boot, with why', () => {
    const r = uncompressedKernel({ vmlinuz: '/nonexistent/boot/vmlinuz-1', vmlinuzSha256: 'c', release: '1' });
    expect(r.file).toBeNull();
    expect(r.why).toMatch(/no such file|ENOENT|missing/i);
  });
});
