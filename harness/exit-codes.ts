// capmatrix's exit codes, one table (docs/outputs.md, "Exit codes"): a script can tell a finding from bad
// input and from a run that could not judge its cells.
export const EXIT = {
  /** every cell matched its expectation (or the command did what it was asked) */
  ok: 0,
  /** a mismatch or a flaky cell; `report --compare`: cells moved; `merge`: incomplete input */
  findings: 1,
  /** bad input (a scenario field, a flag): nothing was started */
  badInput: 2,
  /** infra errors: cells the run could not judge, or a kernel that could not be fetched or verified */
  infra: 3,
} as const;
