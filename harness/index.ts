// What a project that uses capmatrix imports: `import { defineScenario } from 'capmatrix'`.
export type { Capability, CapSet } from './dsl/capabilities.js';
export { CAPABILITIES } from './dsl/capabilities.js';
export type { ExpectRule, OkWhen, Scenario, When } from './dsl/scenario.js';
export { defineScenario } from './dsl/scenario.js';
export type { SysctlName } from './dsl/sysctls.js';
export { ERRNO_NAMES, STAGES } from './dsl/vocabulary.js';
