// capmatrix guest agent: runs once per boot, as root, inside the VM (plain Node, no
// dependencies: the guest sees the host's filesystem, not its node_modules build step).
// For each cell of the plan: set sysctls, copy the sample to a fresh /tmp dir, setcap exactly
// the cell's capabilities, verify them, run the sample as uid 65534 through setpriv, read the
// running sample's uid and capabilities from /proc/<pid>/status (it stops itself once for that),
// and append one JSON line to the results file (fsync'd) before the next cell starts.
// A cell the agent cannot judge is an infra error with its kind: setup-failed, caps-not-applied,
// cell-timeout, no-result (the host adds the kinds it alone can see: boot-timeout, kernel-panic,
// agent-crash).
// Usage: node agent.mjs <plan.json>
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { minimalSets } from './minimal-sets.mjs';

const RESULT_PREFIX = 'CAPMATRIX_RESULT ';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * @typedef {{ id: string, key: string, sample: string, binary: string, caps: string[] | 'root', capNumbers: number[],
 *   uid: number, sysctl: Record<string, number>, args: string[], setup: string[][], teardown: string[][],
 *   setupScope: 'cell' | 'group', scenario: string, timeoutSec: number, delegation?: string[] }} PlanCell
 * @typedef {{ label: string, dimension: 'caps' | 'delegation', universe: string[], capNumbers: Record<string, number>,
 *   baseArgs?: string[], template: PlanCell }} Search
 * @typedef {{ schemaVersion: 1, bootId: string, results: string, recordSysctls: string[], cells: PlanCell[],
 *   searches?: Search[] }} Plan
 */

const planFile = process.argv[2];
if (!planFile) {
  console.error('usage: agent.mjs <plan.json>');
  process.exit(2);
}
/** @type {Plan} */
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
const out = fs.openSync(plan.results, 'a');

/** @param {object} record */
function emit(record) {
  fs.writeSync(out, `${JSON.stringify(record)}\n`);
  fs.fsyncSync(out);
}

/** @param {string} file */
function readTrim(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** @param {string} name */
function sysctlPath(name) {
  return path.join('/proc/sys', ...name.split('.'));
}

/** @param {string} name */
function readSysctl(name) {
  const v = readTrim(sysctlPath(name));
  return v === null ? null : Number(v);
}

/** @param {string} p */
function modeOf(p) {
  try {
    return (fs.statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
  } catch {
    return null;
  }
}

/** @param {string} field */
function ownStatus(field) {
  const line = (readTrim('/proc/self/status') ?? '').split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? line.slice(field.length + 1).trim() : null;
}

/** Who /etc/sudoers lets in: virtme-init replaces it with its own (root, plus the host user when
 * vng runs the command as that user); a sample's uid must never be among them. */
function sudoersUsers() {
  return (readTrim('/etc/sudoers') ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('Defaults'))
    .map((l) => l.split(/\s+/)[0] ?? '');
}

// Checked once per boot: the agent must be root, and nothing may give a sample's uid a way back
// to root; otherwise every cell is refused.
const unsafeGuest =
  process.getuid?.() !== 0
    ? `the guest agent runs as uid ${process.getuid?.()}, not root`
    : sudoersUsers().some((u) => u !== 'root')
      ? `/etc/sudoers in the guest lets in ${sudoersUsers().join(', ')}: a sample could reach root`
      : null;

function provenance() {
  const mounts = readTrim('/proc/mounts') ?? '';
  const fsAt = (/** @type {string} */ p) =>
    mounts
      .split('\n')
      .find((l) => l.split(' ')[1] === p)
      ?.split(' ')[2] ?? null;
  /** @type {Record<string, number | null>} */
  const sysctls = {};
  for (const name of plan.recordSysctls) sysctls[name] = readSysctl(name);
  const clocksource = readTrim('/sys/devices/system/clocksource/clocksource0/current_clocksource');
  return {
    type: 'provenance',
    bootId: plan.bootId,
    release: os.release(),
    version: readTrim('/proc/version'),
    cmdline: readTrim('/proc/cmdline'),
    cpus: os.cpus().length,
    memMiB: Math.round(os.totalmem() / 1048576),
    clocksource,
    guestAccel: clocksource === 'kvm-clock' ? 'kvm' : 'tcg-or-other',
    sysctls,
    tracefs: { path: '/sys/kernel/tracing', fs: fsAt('/sys/kernel/tracing'), mode: modeOf('/sys/kernel/tracing') },
    bpffs: { path: '/sys/fs/bpf', fs: fsAt('/sys/fs/bpf'), mode: modeOf('/sys/fs/bpf') },
    lockdown: readTrim('/sys/kernel/security/lockdown'),
    agentCapEff: ownStatus('CapEff'),
    agentUid: process.getuid?.() ?? null,
    sudoers: sudoersUsers(),
    node: process.version,
    t: Date.now(),
  };
}

/** Boot-time values of every sysctl some cell sets: a cell that leaves one alone gets it back
 * at its boot value, not at whatever the previous cell set. (unprivileged_bpf_disabled is the
 * exception the planner handles: cells that leave it alone run before any cell changes it.) */
const bootSysctls = Object.fromEntries(
  [
    ...new Set([...plan.cells, ...(plan.searches ?? []).map((s) => s.template)].flatMap((c) => Object.keys(c.sysctl))),
  ].map((n) => [n, readSysctl(n)]),
);

/** Sets a cell's sysctls; returns an error message or null. @param {Record<string, number>} cellSysctl */
function applySysctls(cellSysctl) {
  /** @type {Record<string, number>} */
  const want = {};
  for (const [name, value] of Object.entries(bootSysctls)) {
    if (value !== null && name !== 'kernel.unprivileged_bpf_disabled') want[name] = value;
  }
  Object.assign(want, cellSysctl);
  for (const [name, value] of Object.entries(want)) {
    if (readSysctl(name) === value) continue;
    try {
      fs.writeFileSync(sysctlPath(name), String(value));
    } catch (e) {
      return `cannot set ${name}=${value} (now ${readSysctl(name)}): ${/** @type {Error} */ (e).message}`;
    }
    if (readSysctl(name) !== value) return `${name} reads ${readSysctl(name)} after writing ${value}`;
  }
  return null;
}

/** @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: PATH_ENV } });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

/** Caps listed by `getcap FILE` ("FILE cap_a,cap_b=ep"), as sorted upper-case names. @param {string} text */
function parseGetcap(text) {
  const m = /\s(\S+)=ep$/.exec(text.trim());
  if (!m?.[1]) return { caps: /** @type {string[]} */ ([]), raw: text.trim() };
  return {
    caps: m[1]
      .split(',')
      .map((c) => c.toUpperCase())
      .sort(),
    raw: text.trim(),
  };
}

/** @param {number[]} numbers */
function capMask(numbers) {
  return numbers.reduce((m, n) => m | (1n << BigInt(n)), 0n);
}

/** `{read:/path}` → the file's content (read here, as root); `{sample}` → the sample's path.
 * @param {string} arg @param {string} sample */
function expand(arg, sample) {
  return arg
    .replaceAll('{sample}', sample)
    .replace(/\{read:([^}]+)\}/g, (_m, /** @type {string} */ p) => fs.readFileSync(p, 'utf8').trim());
}

/** Runs root commands (setup or teardown); returns an error message or null.
 * @param {string[][]} cmds @param {string} sample */
function runRootCommands(cmds, sample) {
  for (const cmd of cmds) {
    const argv = cmd.map((a) => expand(a, sample));
    const r = run(argv[0] ?? '', argv.slice(1));
    if (!r.ok) return `\`${argv.join(' ')}\` failed: ${r.out.slice(-400)}`;
  }
  return null;
}

/** Copies the sample and gives it exactly the cell's file capabilities; returns an infra error or null.
 * @returns {{ kind: string, detail: string } | null}
 * @param {PlanCell} cell @param {string} file */
function prepareBinary(cell, file) {
  fs.copyFileSync(cell.binary, file);
  fs.chmodSync(file, 0o755);
  if (cell.caps === 'root' || cell.caps.length === 0) {
    // A fresh copy carries no file capabilities; the sample's own CapEff (checked after it ran)
    // proves what it held, so getcap would only cost an exec here.
    return null;
  }
  const text = `${cell.caps.map((c) => c.toLowerCase()).join(',')}+ep`;
  const r = run('setcap', [text, file]);
  if (!r.ok) return { kind: 'setup-failed', detail: `setcap ${text}: ${r.out}` };
  const got = parseGetcap(run('getcap', [file]).out).caps;
  const want = [...cell.caps].sort();
  if (got.join(',') !== want.join(','))
    return {
      kind: 'caps-not-applied',
      detail: `getcap shows [${got.join(',')}], the cell asks for [${want.join(',')}]`,
    };
  return null;
}

/** Fields of /proc/<pid>/status, or null when the process is gone. @param {number} pid */
function procStatus(pid) {
  const text = readTrim(`/proc/${pid}/status`);
  if (text === null) return null;
  /** @type {Record<string, string>} */
  const f = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) f[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return f;
}

/** /proc/<pid>/stat's state letter ('T' = stopped), or null when gone. @param {number} pid */
function procState(pid) {
  const stat = readTrim(`/proc/${pid}/stat`);
  return stat === null ? null : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null);
}

/**
 * The samples stop themselves once (cm_init: a byte on fd 3, then SIGSTOP) when
 * CAPMATRIX_HANDSHAKE is set: the agent then reads what the kernel says the process holds, not
 * what the sample reports, and lets it go on. It waits on the pipe rather than polling, so the
 * one vCPU stays with the sample. Returns the status fields, or null when the process ended
 * without stopping.
 * @param {import('node:child_process').ChildProcess} child
 */
async function handshake(child) {
  const pid = child.pid;
  const pipe = child.stdio[3];
  if (!pid || !pipe || !('on' in pipe)) return null;
  const ready = await new Promise((resolve) => {
    pipe.once('data', () => resolve(true));
    pipe.once('close', () => resolve(false));
    pipe.once('error', () => resolve(false));
  });
  if (!ready) return null;
  // the byte comes just before the stop: wait the few microseconds until it is stopped
  for (;;) {
    const state = procState(pid);
    if (state === null) return null;
    if (state === 'T') break;
    await new Promise((r) => setImmediate(r));
  }
  const status = procStatus(pid);
  process.kill(pid, 'SIGCONT');
  return status;
}

/** @param {PlanCell} cell @param {string} file @param {string} cwd */
function execSample(cell, file, cwd) {
  const argv =
    cell.uid === 0
      ? [file, ...cell.args]
      : [
          'setpriv',
          `--reuid=${cell.uid}`,
          `--regid=${cell.uid}`,
          '--clear-groups',
          '--inh-caps=-all',
          '--',
          file,
          ...cell.args,
        ];
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(argv[0] ?? file, argv.slice(1), {
      cwd,
      env: { PATH: PATH_ENV, HOME: cwd, CAPMATRIX_CELL: cell.id, CAPMATRIX_HANDSHAKE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'], // fd 3: the handshake
      detached: true, // own process group, so a timeout kills whatever the sample started
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr = (stderr + d).slice(-8192);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {}
    }, cell.timeoutSec * 1000);
    child.on('error', (e) => {
      stderr += `\nspawn: ${e.message}`;
    });
    const status = handshake(child);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      resolve({
        status: await status,
        code,
        signal,
        stdout,
        stderr,
        timedOut,
        pgid: child.pid,
        execMs: Math.round(performance.now() - started),
      });
    });
  });
}

// One long-lived `ip -batch -` answers "is an XDP program on lo?" after every cell without an
// exec per cell (an exec costs tens of milliseconds under TCG).
const ipBatch = spawn('ip', ['-o', '-force', '-batch', '-'], {
  stdio: ['pipe', 'pipe', 'ignore'],
  env: { PATH: PATH_ENV },
});
ipBatch.stdout.setEncoding('utf8');
/** @type {((line: string) => void)[]} */
const ipWaiters = [];
let ipBuffer = '';
ipBatch.stdout.on('data', (/** @type {string} */ d) => {
  ipBuffer += d;
  for (let i = ipBuffer.indexOf('\n'); i >= 0; i = ipBuffer.indexOf('\n')) {
    const line = ipBuffer.slice(0, i);
    ipBuffer = ipBuffer.slice(i + 1);
    ipWaiters.shift()?.(line);
  }
});
/** @returns {Promise<string>} `ip -o link show dev lo` */
function loLink() {
  return new Promise((resolve) => {
    ipWaiters.push(resolve);
    ipBatch.stdin.write('link show dev lo\n');
  });
}

/**
 * The state a cell may leave behind, reset and checked before the next cell: processes left in
 * the sample's process group, an XDP program on lo. Returns what had to be cleaned (empty: it
 * was clean). Pins and mounts are the scenario's teardown; links and programs die with their
 * processes.
 * @param {number | undefined} pgid
 */
async function resetState(pgid) {
  const problems = [];
  if (pgid) {
    try {
      process.kill(-pgid, 0); // throws ESRCH when nothing of the group is left
      process.kill(-pgid, 'SIGKILL');
      problems.push(`processes of the sample's group ${pgid} were still running (killed)`);
    } catch {}
  }
  if (/\sxdp/.test(await loLink())) {
    run('ip', ['link', 'set', 'dev', 'lo', 'xdpgeneric', 'off']);
    const still = /\sxdp/.test(await loLink());
    problems.push(`an XDP program was left on lo (detached${still ? ', and it is STILL there' : ''})`);
  }
  return problems;
}

/** @type {number | undefined} */
let lastPgid;
let lastTeardownMs = 0;
/** A scenario whose setup covers a run of consecutive cells (setupScope 'group'): it is set up
 * before the first of them and torn down after the last. @type {{ scenario: string, teardown: string[][] } | null} */
let activeGroup = null;

/** (A function, so that type narrowing at the top level does not assume it stays null.) */
const groupScenario = () => activeGroup?.scenario;

/** Tears down the active group's setup; returns the time it took. */
function endGroup() {
  if (!activeGroup) return 0;
  const t = performance.now();
  const err = runRootCommands(activeGroup.teardown, '');
  if (err) teardownErrors.push({ id: `group ${activeGroup.scenario}`, err });
  activeGroup = null;
  return Math.round(performance.now() - t);
}

/** @param {PlanCell} cell */
async function runCell(cell) {
  const t0 = performance.now();
  const infra = (/** @type {string} */ kind, /** @type {string} */ detail, extra = {}) => ({
    ...extra,
    infraKind: kind,
    infraError: detail,
    observed: null,
    durationMs: Math.round(performance.now() - t0),
  });
  if (unsafeGuest) return infra('setup-failed', unsafeGuest);
  const sysErr = applySysctls(cell.sysctl);
  if (sysErr) return infra('setup-failed', sysErr);
  const tSysctl = performance.now();
  const dir = fs.mkdtempSync('/tmp/capmatrix-cell-');
  let tornDown = true;
  /** @type {number | undefined} */
  let pgid;
  try {
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, cell.sample);
    const prepErr = prepareBinary(cell, file);
    if (prepErr) return infra(prepErr.kind, prepErr.detail);
    const tPrep = performance.now();
    if (cell.setupScope === 'group') {
      if (activeGroup?.scenario !== cell.scenario) {
        const setupErr = runRootCommands(cell.setup, file);
        activeGroup = { scenario: cell.scenario, teardown: cell.teardown };
        if (setupErr) return infra('setup-failed', `setup: ${setupErr}`);
      }
    } else {
      tornDown = false;
      const setupErr = runRootCommands(cell.setup, file);
      if (setupErr) return infra('setup-failed', `setup: ${setupErr}`);
    }
    const tSetup = performance.now();
    let args;
    try {
      args = cell.args.map((a) => expand(a, file));
    } catch (e) {
      return infra('setup-failed', `args: ${/** @type {Error} */ (e).message}`);
    }
    // the harness's own fixed cost before the sample runs; the scenario's setup is counted apart
    const overheadMs = Math.round(tPrep - t0 + (performance.now() - tSetup));
    const setupMs = Math.round(tSetup - tPrep);
    const sysctlMs = Math.round(tSysctl - t0);
    /** @type {any} */
    const r = await execSample({ ...cell, args }, file, dir);
    pgid = r.pgid;
    const line = r.stdout
      .split('\n')
      .reverse()
      .find((/** @type {string} */ l) => l.startsWith(RESULT_PREFIX));
    const stderrTail = r.stderr.trim().split('\n').slice(-12).join('\n');
    const base = {
      overheadMs,
      sysctlMs,
      setupMs,
      execMs: r.execMs,
      exit: { code: r.code, signal: r.signal },
      stderrTail,
      // what the kernel showed while the sample ran (the handshake), whatever happened next
      ...(r.status?.CapEff ? { capEff: r.status.CapEff } : {}),
    };
    if (r.timedOut) return infra('cell-timeout', `killed after the ${cell.timeoutSec}s cell timeout`, base);
    if (!line) {
      return infra(
        'no-result',
        `exited without a CAPMATRIX_RESULT line (exit code ${r.code}, signal ${r.signal}); stderr: ${stderrTail.slice(-600)}`,
        base,
      );
    }
    /** @type {any} */
    let res;
    try {
      res = JSON.parse(line.slice(RESULT_PREFIX.length));
    } catch {
      return infra('no-result', `unparsable result line: ${line.slice(0, 300)}`, base);
    }
    // The process must really have run as the cell's uid with exactly the cell's capabilities:
    // first what the kernel showed while it ran, then what it saw itself when it reported.
    const wantMask = cell.uid === 0 ? BigInt(`0x${ownStatus('CapEff') ?? '0'}`) : capMask(cell.capNumbers);
    const want = `uid ${cell.uid}, CapEff ${wantMask.toString(16).padStart(16, '0')}`;
    /** @type {Record<string, string> | null} */
    const st = r.status;
    if (!st) return infra('caps-not-applied', `the sample never stopped for the capability check (${want})`, base);
    const uids = (st.Uid ?? '').split(/\s+/).map((/** @type {string} */ u) => Number(u));
    const hexMask = (/** @type {string | undefined} */ v) => (/^[0-9a-f]+$/i.test(v ?? '') ? BigInt(`0x${v}`) : -1n);
    if (uids.length !== 4 || uids.some((u) => u !== cell.uid) || hexMask(st.CapEff) !== wantMask) {
      return infra(
        'caps-not-applied',
        `/proc/<pid>/status of the running sample: Uid ${st.Uid}, CapEff ${st.CapEff}; the cell asks for ${want}`,
        base,
      );
    }
    if (cell.uid !== 0 && (hexMask(st.CapInh) !== 0n || hexMask(st.CapAmb) !== 0n)) {
      return infra(
        'caps-not-applied',
        `inheritable ${st.CapInh} / ambient ${st.CapAmb} capabilities are not empty`,
        base,
      );
    }
    if (res.uid !== cell.uid || hexMask(res.capEff) !== wantMask) {
      return infra(
        'caps-not-applied',
        `the sample reported uid ${res.uid} with CapEff ${res.capEff} when it finished; the cell asks for ${want}`,
        base,
      );
    }
    const { outcome, stage, errno, detail, uid: _uid, capEff: _capEff, ...extra } = res;
    return {
      ...base,
      capEff: st.CapEff,
      observed: { outcome, stage, errno, detail, ...(Object.keys(extra).length ? { data: extra } : {}) },
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    lastPgid = pgid;
    // Teardown failures are reported but do not change this cell's observation.
    if (!tornDown) {
      const t = performance.now();
      const err = runRootCommands(cell.teardown, path.join(dir, cell.sample));
      lastTeardownMs = Math.round(performance.now() - t);
      if (err) teardownErrors.push({ id: cell.id, err });
    } else lastTeardownMs = 0;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** @type {{ id: string, err: string }[]} */
const teardownErrors = [];
/**
 * Runs one cell and appends its record. `next` is the cell that follows (or, in a search, one like
 * it): a group setup stays up while the next cell belongs to the same scenario.
 * @param {PlanCell} cell @param {PlanCell | undefined} next
 */
async function runAndRecord(cell, next) {
  emit({ type: 'cell-start', id: cell.id, key: cell.key, t: Date.now() });
  /** @type {any} */
  let result;
  try {
    result = await runCell(cell);
  } catch (e) {
    result = {
      infraKind: 'agent-crash',
      infraError: `agent: ${/** @type {Error} */ (e).stack ?? e}`,
      observed: null,
      durationMs: 0,
    };
  }
  // the group's setup ends after its last consecutive cell
  const groupTeardownMs = next?.setupScope === 'group' && next.scenario === groupScenario() ? 0 : endGroup();
  result.teardownMs = lastTeardownMs + groupTeardownMs;
  const t = performance.now();
  const reset = await resetState(lastPgid);
  result.resetMs = Math.round(performance.now() - t);
  if (reset.length) result.resetProblems = reset;
  emit({
    type: 'cell',
    id: cell.id,
    key: cell.key,
    caps: cell.caps,
    ...(cell.delegation ? { delegation: cell.delegation } : {}),
    // every sysctl some cell of this boot sets, as it stood for this cell
    sysctlNow: Object.fromEntries(Object.keys({ ...bootSysctls, ...cell.sysctl }).map((k) => [k, readSysctl(k)])),
    ...result,
  });
  return result;
}

/** Delegation items ("cmds=map_create", "maps=queue", …) → the token loader's arguments
 * ("cmds=map_create:prog_load", …), one per kind. @param {string[]} items */
function delegationArgs(items) {
  /** @type {Map<string, string[]>} */
  const kinds = new Map();
  for (const item of items) {
    const [kind = '', value = ''] = item.split('=');
    kinds.set(kind, [...(kinds.get(kind) ?? []), value]);
  }
  return [...kinds].map(([kind, values]) => `${kind}=${values.join(':')}`);
}

/**
 * `capmatrix minimize`: each search looks for the minimal sets (of capabilities, or of token
 * delegation items) of one cell template (minimal-sets.mjs), choosing the next set from the last
 * outcome, so it runs here, in the boot.
 * @param {Search} search
 */
async function runSearch(search) {
  let n = 0;
  const result = await minimalSets(search.universe, async (set) => {
    const name = set.map((c) => c.replace(/^CAP_/, '')).join('+') || 'none';
    /** @type {PlanCell} */
    const cell =
      search.dimension === 'delegation'
        ? {
            ...search.template,
            id: `${search.template.scenario}/${name}/${search.label}`,
            key: `${search.label}#${++n}`,
            args: [...(search.baseArgs ?? []), ...delegationArgs(set)],
            delegation: set,
          }
        : {
            ...search.template,
            id: `${search.template.scenario}/${name}/${search.label}`,
            key: `${search.label}#${++n}`,
            caps: set,
            capNumbers: set.map((c) => search.capNumbers[c] ?? -1),
          };
    const r = await runAndRecord(cell, search.template);
    return r.observed?.outcome === 'ok';
  });
  endGroup();
  emit({ type: 'search', label: search.label, ...result });
}

emit(provenance());
for (const [i, cell] of plan.cells.entries()) await runAndRecord(cell, plan.cells[i + 1]);
for (const search of plan.searches ?? []) await runSearch(search);
emit({ type: 'end', t: Date.now(), teardownErrors });
ipBatch.stdin.end();
fs.closeSync(out);
