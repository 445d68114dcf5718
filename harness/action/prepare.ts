// The action's step before the kernel cache: which capmatrix runs (outputs `capmatrix`, its
// package directory) and the cache's key (`cache-key`). Run in the project's working directory.
import { capmatrixRoot, kernelCacheKey } from './capmatrix-bin.js';
import { readInputs } from './inputs.js';
import { setOutput } from './step-io.js';

const root = capmatrixRoot(process.cwd());
setOutput('capmatrix', root);
setOutput('cache-key', kernelCacheKey(root, readInputs().kernels));
process.stdout.write(`capmatrix action: capmatrix from ${root}\n`);
