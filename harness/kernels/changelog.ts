// The Debian changelog a kernel package ships (usr/share/doc/<package>/changelog.gz): every
// upload of the source, each listing the upstream stable commits Debian took. Between the last
// good and the first bad build it says which change probably moved a cell.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { compareVersions } from '../version.js';

export interface ChangelogEntry {
  source: string;
  version: string;
  suite: string;
  /** One item per change: a "- subject" (wrapped lines joined) or a "* note". */
  items: string[];
}

const HEADER = /^(\S+) \(([^)]+)\) ([^;]+);/;

export function parseChangelog(text: string): ChangelogEntry[] {
  const entries: ChangelogEntry[] = [];
  let item: string[] | undefined;
  for (const line of text.split('\n')) {
    const head = HEADER.exec(line);
    if (head) {
      entries.push({ source: head[1] ?? '', version: head[2] ?? '', suite: (head[3] ?? '').trim(), items: [] });
      continue;
    }
    const cur = entries.at(-1);
    if (!cur || /^ -- /.test(line)) continue;
    const start = /^\s+[-*+]\s+(.*)$/.exec(line);
    if (start) {
      item = [start[1] ?? ''];
      cur.items.push('');
    } else if (item && /^\s{4,}\S/.test(line)) item.push(line.trim());
    else if (!line.trim()) item = undefined;
    if (item) cur.items[cur.items.length - 1] = item.join(' ');
  }
  return entries;
}

/** The kernel build an entry stands for: the signed wrapper's entries ("linux-signed-amd64
 * (5.10.262+1)") carry the upload they sign, "Sign kernel from linux 5.10.262-1", and its items. */
function buildVersion(e: ChangelogEntry): string {
  if (!e.source.startsWith('linux-signed')) return e.version;
  return e.items.map((t) => /^Sign kernel from linux (\S+)/.exec(t)?.[1]).find(Boolean) ?? e.version;
}

/** The uploads of the kernel source after `good` up to and including `bad`, as build versions. */
export function entriesBetween(entries: ChangelogEntry[], good: string, bad: string): ChangelogEntry[] {
  return entries
    .map((e) => ({ ...e, version: buildVersion(e) }))
    .filter((e) => compareVersions(e.version, good) > 0 && compareVersions(e.version, bad) <= 0);
}

/** An item for other architectures only ("[arm64] bpf: …") says nothing about amd64's. */
const otherArchOnly = (t: string) => /^\[[^\]]+\]/.test(t) && !/^\[[^\]]*(x86|amd64)[^\]]*\]/.test(t);
/** Changes to tools in the kernel tree (perf's tool is "perf stat:", the kernel's "perf:" or
 * "perf/core:"), not to the kernel. */
const userspaceOnly = (t: string) => /^(libbpf|bpftool|selftests\S*|tools\S*|perf [a-z][\w -]*):/i.test(t);

/** What the issue asks the lines to touch: bpf, perf, capabilities, tracing, namespaces. */
export const TOPIC =
  /\b(bpf|btf|xdp|perf(?![a-z])|capabilit|cap_[a-z_]+|uprobes?|kprobes?|trac(e|ing|epoint)|ftrace|namespaces?|userns|user_ns|seccomp|lsm|lockdown|sysctl)/i;

export interface ChangelogLine {
  version: string;
  text: string;
  /** How many of the cell's own words (its sample, stage, capabilities) the line names. */
  score: number;
}

/** Does a line name the word: the word itself or its plural; "cap_*" any word it begins. */
function names(tokens: string[], word: string): boolean {
  const w = word.toLowerCase();
  if (w.endsWith('*')) return tokens.some((t) => t.startsWith(w.slice(0, -1)));
  return tokens.some((t) => t === w || t === `${w}s`);
}

/** The lines between the two builds that touch the topics, the ones naming more of the cell's
 * words (its sample, capabilities; "cap_*" for a prefix) first, then in changelog order. */
export function relevantLines(entries: ChangelogEntry[], cellWords: string[]): ChangelogLine[] {
  const words = cellWords.filter((w) => w.length >= 3);
  const lines = entries.flatMap((e) =>
    e.items
      .filter((t) => TOPIC.test(t) && !otherArchOnly(t) && !userspaceOnly(t) && !/^Sign kernel from/.test(t))
      .map((text) => {
        const tokens = text.toLowerCase().split(/[^a-z0-9_]+/);
        return { version: e.version, text, score: words.filter((w) => names(tokens, w)).length };
      }),
  );
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => b.l.score - a.l.score || a.i - b.i)
    .map(({ l }) => l);
}

/** The largest changelog under a kernel tree's usr/share/doc (the image package's; Debian 7.x
 * splits the kernel over linux-binary/-modules packages, each with its own doc directory). */
export function findChangelog(tree: string): string | undefined {
  const doc = path.join(tree, 'usr', 'share', 'doc');
  if (!existsSync(doc)) return undefined;
  const files = readdirSync(doc)
    .flatMap((d) => ['changelog.Debian.gz', 'changelog.gz'].map((f) => path.join(doc, d, f)))
    .filter((f) => existsSync(f));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

export function readChangelog(file: string): ChangelogEntry[] {
  return parseChangelog(gunzipSync(readFileSync(file)).toString('utf8'));
}
