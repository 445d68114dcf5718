// Where things live. What ships with capmatrix (the samples, the kernel catalog, the guest agent)
// resolves from the package; what belongs to the user's project (scenarios, baselines, results) from the
// directory capmatrix runs in; downloaded kernels go to a per-user cache.
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The capmatrix package: a checkout, or node_modules/capmatrix in a user's project. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The user's project: where `npx capmatrix` (or `npm run matrix` in a checkout) runs. */
export const PROJECT_DIR = process.cwd();
/** Kernels, package indexes and downloads, shared by every project of this user. */
export const CACHE_DIR =
  process.env.CAPMATRIX_CACHE ?? path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'capmatrix');
export const RESULTS_DIR = process.env.CAPMATRIX_RESULTS ?? path.join(PROJECT_DIR, 'results');
/** The project's committed baselines, one results.json per kernel: inputs, so not under results/. */
export const BASELINES_DIR = path.join(PROJECT_DIR, 'baselines');
/** The project's privilege atlas, generated from its baselines (`capmatrix atlas`). */
export const ATLAS_DIR = path.join(PROJECT_DIR, 'docs', 'atlas');
export const BPF_SRC_DIR = path.join(PACKAGE_ROOT, 'bpf-src');
export const SAMPLES_BUILD_DIR = path.join(BPF_SRC_DIR, 'build');
/** The guest's PID 1 (bpf-src/guest_init): virtme-ng's setup without its shell init. */
export const GUEST_INIT = path.join(SAMPLES_BUILD_DIR, 'guest_init');
/** The guest's own programs in bpf-src (its PID 1, the state helper, the samples' launcher,
 * the capability recorder): built beside the samples, never a scenario's sample. */
export const GUEST_HELPERS = ['guest_init', 'state_watch', 'cell_spawn', 'cap_watch'];
/** capmatrix's own scenarios (the talk's samples). */
export const BUILTIN_SCENARIOS = path.join(PACKAGE_ROOT, 'scenarios');
export const GUEST_AGENT_SOURCE = path.join(PACKAGE_ROOT, 'harness', 'guest', 'agent.ts');
/** The agent as the guest runs it: one bundled file, built by `capmatrix setup`. */
export const GUEST_AGENT = path.join(PACKAGE_ROOT, 'harness', 'guest', 'build', 'agent.mjs');
