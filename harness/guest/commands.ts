// Root commands in the guest (setup, teardown, setcap): argument arrays, never a shell.
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';
import { PATH_ENV } from './proc.js';
import type { AgentTool } from './protocol.js';
import { rootTools, ToolError } from './tools.js';

/** Runs a root program by the absolute path `resolve` gives (tools.ts checked it). */
function runChecked(resolve: () => string, args: string[]): { ok: boolean; out: string } {
  let file: string;
  try {
    file = resolve();
  } catch (e) {
    if (e instanceof ToolError) return { ok: false, out: e.message };
    throw e;
  }
  const r = run(file, args, { env: { PATH: PATH_ENV } });
  return { ok: r.ok, out: r.ok ? `${r.stdout}${r.stderr}`.trim() : `${r.stdout.trim()} ${r.why}`.trim() };
}

/** Runs one of the agent's own root tools: only those the plan vouches for by name (AGENT_TOOLS). */
export const runAsRoot = (tool: AgentTool, args: string[]) => runChecked(() => rootTools.resolve(tool), args);

/** The path to run one of the agent's own root tools by (tools.ts; throws ToolError). */
export const agentTool = (tool: AgentTool): string => rootTools.resolve(tool);

/** `{copy:/path}` → a root-owned, world-readable copy in the cell's directory (the cell's uid may
 * not be able to read the original where it is), its new path. */
function copyInto(cellDir: string, file: string): string {
  const dest = path.join(cellDir, `input-${path.basename(file)}`);
  fs.copyFileSync(file, dest);
  fs.chmodSync(dest, 0o644);
  return dest;
}

/** Where a cell's arguments and commands point: the sample's copy and the cell's own directory. */
export interface CellPaths {
  sample: string;
  dir: string;
}

/** `{read:/path}` → the file's content (read here, as root); `{sample}` → the sample's path;
 * `{copy:/path}` → the path of a copy the cell can read. */
export function expandArg(arg: string, at: CellPaths): string {
  return arg
    .replaceAll('{sample}', at.sample)
    .replace(/\{read:([^}]+)\}/g, (_m, p: string) => fs.readFileSync(p, 'utf8').trim())
    .replace(/\{copy:([^}]+)\}/g, (_m, p: string) => copyInto(at.dir, p));
}

/** Runs root commands in order; returns the first failure's message, or null. */
export function runRootCommands(cmds: string[][], at: CellPaths): string | null {
  for (const cmd of cmds) {
    const argv = cmd.map((a) => expandArg(a, at));
    const program = argv[0] ?? '';
    // `{sample}`: the agent's own copy of the sample, not a host tool the plan vouches for
    const resolve =
      cmd[0] === '{sample}' ? () => rootTools.resolveSampleCopy(program) : () => rootTools.resolve(program);
    const r = runChecked(resolve, argv.slice(1));
    if (!r.ok) return `\`${argv.join(' ')}\` failed: ${r.out.slice(-400)}`;
  }
  return null;
}
