// A user's BPF object read on the host, before any boot: is it a BPF ELF file, and which programs
// does it have. libbpf's rule (libbpf.c, bpf_object__init_progs): a program is a function symbol
// in an executable section other than .text (.text holds the subprograms).
import { readFileSync } from 'node:fs';

const EM_BPF = 247;
const SHT_SYMTAB = 2;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

export interface BpfProgram {
  name: string;
  section: string;
}

interface Section {
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
}

const cString = (buf: Buffer, at: number) => {
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
};

function sections(elf: Buffer, le: boolean): Section[] {
  const u16 = (at: number) => (le ? elf.readUInt16LE(at) : elf.readUInt16BE(at));
  const u32 = (at: number) => (le ? elf.readUInt32LE(at) : elf.readUInt32BE(at));
  const u64 = (at: number) => (le ? elf.readBigUInt64LE(at) : elf.readBigUInt64BE(at));
  const shoff = Number(u64(0x28));
  const count = u16(0x3c);
  const raw = Array.from({ length: count }, (_, i) => {
    const at = shoff + i * SHDR_SIZE;
    return {
      nameOff: u32(at),
      type: u32(at + 4),
      flags: u64(at + 8),
      offset: Number(u64(at + 24)),
      size: Number(u64(at + 32)),
      link: u32(at + 40),
    };
  });
  const names = raw[u16(0x3e)];
  return raw.map((s) => ({ ...s, name: names ? cString(elf, names.offset + s.nameOff) : '' }));
}

/** The object's programs in file order, or why the file is not a BPF object it can read. */
export function readBpfObject(file: string): BpfProgram[] | string {
  let elf: Buffer;
  try {
    elf = readFileSync(file);
  } catch (e) {
    return `cannot read ${file}: ${(e as Error).message}`;
  }
  if (elf.subarray(0, 4).toString('latin1') !== '\x7fELF') return `${file} is not an ELF file`;
  const le = elf[5] !== 2;
  const machine = le ? elf.readUInt16LE(18) : elf.readUInt16BE(18);
  if (machine !== EM_BPF) return `${file} is an ELF file for machine ${machine}, not BPF (clang -target bpf)`;
  if (elf[4] !== 2) return `${file} is a 32-bit ELF file; clang -target bpf writes 64-bit ones`;
  try {
    const all = sections(elf, le);
    const symtab = all.find((s) => s.type === SHT_SYMTAB);
    const strtab = symtab && all[symtab.link];
    if (!symtab || !strtab) return `${file} has no symbol table (was it stripped?)`;
    const programs: BpfProgram[] = [];
    for (let at = symtab.offset; at + SYM_SIZE <= symtab.offset + symtab.size; at += SYM_SIZE) {
      const info = elf.readUInt8(at + 4);
      const sec = all[le ? elf.readUInt16LE(at + 6) : elf.readUInt16BE(at + 6)];
      const isProgram =
        (info & 0xf) === STT_FUNC && sec && (sec.flags & BigInt(SHF_EXECINSTR)) !== 0n && sec.name !== '.text';
      if (isProgram)
        programs.push({
          name: cString(elf, strtab.offset + (le ? elf.readUInt32LE(at) : elf.readUInt32BE(at))),
          section: sec.name,
        });
    }
    return programs;
  } catch (e) {
    if (e instanceof RangeError) return `${file} is a truncated or malformed ELF file`;
    throw e;
  }
}
