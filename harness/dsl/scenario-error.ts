// A scenario that cannot run, with every problem found in it: each names the file, the field and
// what is allowed. Thrown before any VM starts (validate.ts), or when no rule covers a cell on a
// kernel (expand.ts's expectationFor).
export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
    this.name = 'ScenarioError';
  }
}
