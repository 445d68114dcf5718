// The root tools a boot's plan vouches for (guest/protocol.ts, `toolDigests`), read on the host.
// The guest's /usr is a writable overlay over the host's: a root cell could replace a tool before
// the agent first runs it, and the agent cannot trust the package database it would read either.
// So the host finds each tool where the agent will (same directories, same order), checks the
// file against the md5 its Debian package installed, and gives the guest the file's sha256 to
// compare at first use. A tool no package owns (a host without dpkg, a tool installed by hand) is
// vouched for as the host's file only.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';
import { AGENT_TOOLS, type GuestCell, type ToolDigest, toolCandidates } from '../guest/protocol.js';

export const DPKG_ADMINDIR = '/var/lib/dpkg';

/** What the host found a tool to be: `file` is the realpath of the path found, the file run. */
export type HostTool = { file: string; sha256: string } & ({ package: string; md5Verified: true } | { package: null });

/** The names a file may be listed under in dpkg's database: merged /usr lists /bin/x for
 * /usr/bin/x. The other spelling counts only where it leads to the same file. */
function spellings(file: string): string[] {
  const other = file.startsWith('/usr/') ? file.slice('/usr'.length) : `/usr${file}`;
  const same = fs.existsSync(other) && fs.realpathSync(other) === file;
  return same ? [file, other] : [file];
}

/** dpkg-query -S takes a pattern: a path is matched as it is written. */
const literal = (file: string) => file.replace(/[*?[\\]/g, '\\$&');

/** Each path's owning packages, by one `dpkg-query -S` over all of them (none without dpkg). */
function owners(files: string[], admindir: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  if (files.length === 0) return found;
  const r = run('dpkg-query', [`--admindir=${admindir}`, '-S', ...files.map(literal)]);
  if (r.status === null && /ENOENT/.test(r.why)) return found; // not a dpkg host
  // exit 1: some path has no owner; the others are listed all the same
  if (r.status !== 0 && r.status !== 1) throw new Error(`dpkg-query -S failed (${r.why})`);
  for (const line of r.stdout.split('\n')) {
    if (/^(local )?diversion /.test(line)) continue;
    const at = line.indexOf(': /'); // "pkg, pkg:arch: /path"
    if (at > 0) found.set(line.slice(at + 2), line.slice(0, at).split(', '));
  }
  return found;
}

/** The package's md5sums file: `<pkg>.md5sums`, or `<pkg>:<arch>.md5sums` for a multi-arch one. */
function md5sumsFile(pkg: string, admindir: string): string | null {
  const info = path.join(admindir, 'info');
  if (fs.existsSync(path.join(info, `${pkg}.md5sums`))) return path.join(info, `${pkg}.md5sums`);
  const qualified = fs.readdirSync(info).find((f) => f.startsWith(`${pkg}:`) && f.endsWith('.md5sums'));
  return qualified ? path.join(info, qualified) : null;
}

/** The md5 the package installed for the file (under any of its names), or null. */
function packageMd5(pkg: string, names: string[], admindir: string): string | null {
  const sums = md5sumsFile(pkg, admindir);
  if (!sums) return null;
  const listed = new Set(names.map((n) => n.slice(1))); // md5sums names are relative to /
  for (const line of fs.readFileSync(sums, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{32}) {2}(.+)$/.exec(line);
    if (m?.[1] && m[2] && listed.has(m[2])) return m[1];
  }
  return null;
}

interface Found {
  name: string;
  /** The path the agent will run. */
  path: string;
  /** Its realpath: the content hashed. */
  file: string;
  names: string[];
}

function findTool(name: string): Found | null {
  const found = toolCandidates(name).find((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile());
  if (!found) return null;
  const file = fs.realpathSync(found);
  return { name, path: found, file, names: spellings(file) };
}

/** Checks the file against its owners' md5; throws when a package owns it and it differs. */
function vouch(t: Found, pkgs: string[], admindir: string): HostTool {
  const content = fs.readFileSync(t.file);
  const sha256 = createHash('sha256').update(content).digest('hex');
  if (pkgs.length === 0) return { file: t.file, sha256, package: null };
  const md5 = createHash('md5').update(content).digest('hex');
  const wants = pkgs.map((pkg) => ({ pkg, want: packageMd5(pkg, t.names, admindir) }));
  const match = wants.find((w) => w.want === md5);
  if (match) return { file: t.file, sha256, package: match.pkg, md5Verified: true };
  const shown = t.file === t.path ? t.file : `${t.path} (→ ${t.file})`;
  const theirs = wants.map((w) => `package ${w.pkg}: ${w.want ?? 'no md5 listed'}`).join('; ');
  throw new Error(
    `the root tool ${t.name}, ${shown}, is not the file its package installed: md5 ${md5}, ${theirs}. ` +
      'A system tool on this host was modified (dpkg --verify names it); capmatrix runs no such tool as root',
  );
}

/** What the host vouched for already, with the stat it was vouched at (a plan is made per boot). */
const vouched = new Map<string, { stamp: string; tool: HostTool }>();

function stampOf(t: Found, admindir: string): string {
  const st = fs.statSync(t.file);
  return [admindir, t.path, t.file, st.ino, st.size, st.mtimeMs, st.ctimeMs].join('\0');
}

/** Each tool found on the host (one not found is left out: the agent will not find it either). */
export function hostTools(names: readonly string[], admindir = DPKG_ADMINDIR): Map<string, HostTool> {
  const tools = new Map<string, HostTool>();
  const fresh: { t: Found; stamp: string }[] = [];
  for (const t of names.map(findTool)) {
    if (!t) continue;
    const stamp = stampOf(t, admindir);
    const seen = vouched.get(t.name);
    if (seen?.stamp === stamp) tools.set(t.name, seen.tool);
    else fresh.push({ t, stamp });
  }
  const owned = owners([...new Set(fresh.flatMap(({ t }) => t.names))], admindir);
  for (const { t, stamp } of fresh) {
    const tool = vouch(t, [...new Set(t.names.flatMap((n) => owned.get(n) ?? []))], admindir);
    vouched.set(t.name, { stamp, tool });
    tools.set(t.name, tool);
  }
  return tools;
}

/** A command's program the host can vouch for: a bare name or an absolute path (`{sample}` is
 * the agent's own copy of the sample, not a host file). */
const hostProgram = (p: string) => p !== '' && !p.includes('{') && (!p.includes('/') || path.isAbsolute(p));

/** What a cell runs as root of its own: its scenario's commands. */
type Commands = Pick<GuestCell, 'setup' | 'teardown'>;

/** Every name a boot's agent runs a root tool by: its own, and the programs of the cells' commands. */
export function rootToolNames(cells: Commands[]): string[] {
  const programs = cells.flatMap((c) => [...c.setup, ...c.teardown].map((argv) => argv[0] ?? ''));
  return [...new Set([...AGENT_TOOLS, ...programs.filter(hostProgram)])].sort();
}

/** The plan's `toolDigests`: what the agent compares each tool with at its first use. */
export function toolDigests(cells: Commands[], admindir = DPKG_ADMINDIR): Record<string, ToolDigest> {
  const tools = [...hostTools(rootToolNames(cells), admindir)].sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(tools.map(([name, t]) => [name, { sha256: t.sha256, package: t.package }]));
}
