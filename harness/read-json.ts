// A JSON file a user hands capmatrix (a results.json, a minimize.json), read and checked against
// its schema: a wrong one is a usage error naming the file and the field that is wrong.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { UsageError } from './usage-error.js';

/** The file's data as `schema` types it; `what` names the file's kind, `hint` where it is defined. */
export function readJsonFile<S extends z.ZodType>(file: string, schema: S, what: string, hint = ''): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not ${what} (${(e as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue?.path.join('.') || 'the file'}: ${issue?.message}${hint}`);
  }
  return parsed.data;
}
