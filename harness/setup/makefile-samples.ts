// bpf-src/Makefile against bpf-src/'s directories, before anything is built or booted: a sample
// left out of SAMPLES would build nothing and show up only inside the VM, as setup-failed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** What a directory of bpf-src/ holds, by the libbpf-bootstrap names `<d>/<d>.c` and `<d>/<d>.bpf.c`. */
export interface SampleDir {
  name: string;
  loader: boolean;
  bpf: boolean;
}

/** The Makefile's logical lines (a backslash-newline continues a line), comments dropped. */
function logicalLines(makefile: string): string[] {
  return makefile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/#.*/, ''));
}

/** The words of `NAME := …` / `NAME = …` / `NAME += …`, every assignment of it. */
function variableWords(lines: string[], name: string): string[] {
  const re = new RegExp(`^\\s*${name}\\s*(?::=|\\+=|\\?=|=)(.*)$`);
  return lines.flatMap((l) => re.exec(l)?.[1]?.split(/[\s,()]+/) ?? []).filter((w) => w !== '');
}

/** What is wrong with the Makefile for `dirs`, one message per directory it does not build: a
 * sample (loader and BPF side) must be in SAMPLES (or, a guest helper with an object of its own,
 * a prerequisite of `all`), an object without a loader in OBJECTS, a
 * loader without an object of its own must be a prerequisite of `all` (`$(BUILD)/<d>`). */
export function unbuiltSampleDirs(makefile: string, dirs: SampleDir[]): string[] {
  const lines = logicalLines(makefile);
  const samples = new Set(variableWords(lines, 'SAMPLES'));
  const objects = new Set(variableWords(lines, 'OBJECTS'));
  const all = new Set(
    lines.flatMap((l) => /^all\s*:(.*)$/.exec(l)?.[1]?.split(/\s+/) ?? []).map((w) => w.replace(/^\$\(BUILD\)\//, '')),
  );
  const problems: string[] = [];
  for (const d of dirs) {
    const has = [d.loader && `${d.name}.c`, d.bpf && `${d.name}.bpf.c`].filter(Boolean).join(' and ');
    if (d.loader && d.bpf) {
      if (!samples.has(d.name) && !all.has(d.name))
        problems.push(`SAMPLES lacks ${d.name} (bpf-src/${d.name}/ has ${has}): add it to SAMPLES`);
    } else if (d.bpf) {
      if (!objects.has(d.name) && !samples.has(d.name))
        problems.push(`OBJECTS lacks ${d.name} (bpf-src/${d.name}/ has ${has} and no loader): add it to OBJECTS`);
    } else if (d.loader && !samples.has(d.name) && !all.has(d.name))
      problems.push(
        `nothing builds ${d.name} (bpf-src/${d.name}/ has ${has}): a rule for $(BUILD)/${d.name} and a place in all`,
      );
  }
  return problems;
}

/** bpf-src/'s directories that hold a loader or a BPF side by their libbpf-bootstrap names. */
export function sampleDirs(bpfSrcDir: string): SampleDir[] {
  return readdirSync(bpfSrcDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({
      name: e.name,
      loader: existsSync(path.join(bpfSrcDir, e.name, `${e.name}.c`)),
      bpf: existsSync(path.join(bpfSrcDir, e.name, `${e.name}.bpf.c`)),
    }))
    .filter((d) => d.loader || d.bpf)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The check itself, on a bpf-src/ directory: the problems, each naming the directory. */
export function checkSamplesListed(bpfSrcDir: string): string[] {
  const makefile = readFileSync(path.join(bpfSrcDir, 'Makefile'), 'utf8');
  return unbuiltSampleDirs(makefile, sampleDirs(bpfSrcDir));
}
