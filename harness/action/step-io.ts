// A step's outputs, as GitHub reads them: `name=value` lines in the file $GITHUB_OUTPUT names.
import { appendFileSync } from 'node:fs';

export function setOutput(name: string, value: string, env: NodeJS.ProcessEnv = process.env): void {
  // a newline would start another output: a value of ours never has one, so refuse it
  if (/[\r\n]/.test(value)) throw new Error(`output ${name}: a value with a newline`);
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`);
}
