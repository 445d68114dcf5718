// Where things live: the repository, the cache (kernels, downloads) and the run outputs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = process.env.CAPMATRIX_CACHE ?? path.join(REPO_ROOT, '.cache');
export const RESULTS_DIR = process.env.CAPMATRIX_RESULTS ?? path.join(REPO_ROOT, 'results');
export const BPF_SRC_DIR = path.join(REPO_ROOT, 'bpf-src');
export const SAMPLES_BUILD_DIR = path.join(BPF_SRC_DIR, 'build');
export const GUEST_AGENT_SOURCE = path.join(REPO_ROOT, 'harness', 'guest', 'agent.ts');
/** The agent as the guest runs it: one bundled file, built by `capmatrix setup`. */
export const GUEST_AGENT = path.join(REPO_ROOT, 'harness', 'guest', 'build', 'agent.mjs');
