// results.json has one definition (report/results-json.ts, zod) and a JSON Schema generated from
// it (schema/results.schema.json, committed for other tools); what capmatrix reads is checked.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { RESULTS_SCHEMA_REF, readResults, resultsJsonSchema, writeResults } from '../harness/report/results-json.js';

const baselines = path.join(PACKAGE_ROOT, 'baselines');

describe('results.json', () => {
  test('the committed JSON Schema is the one the definition generates (capmatrix schema --write)', () => {
    const committed = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, RESULTS_SCHEMA_REF), 'utf8'));
    expect(committed).toEqual(resultsJsonSchema());
  });

  test.each(readdirSync(baselines).filter((f) => f.endsWith('.json')))('baseline %s fits the definition', (f) => {
    const run = readResults(path.join(baselines, f));
    expect(run.cells.length).toBeGreaterThan(0);
  });

  test('a written results.json names its schema and reads back', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-schema-'));
    const run = readResults(path.join(baselines, readdirSync(baselines)[0] ?? ''));
    const file = writeResults(dir, run);
    expect(JSON.parse(readFileSync(file, 'utf8')).$schema).toBe(RESULTS_SCHEMA_REF);
    expect(readResults(file).runId).toBe(run.runId);
  });

  test('a wrong field is named, with the schema to read', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-schema-'));
    const file = path.join(dir, 'results.json');
    const run = JSON.parse(readFileSync(path.join(baselines, readdirSync(baselines)[0] ?? ''), 'utf8'));
    run.cells[2].verdict = 'maybe';
    writeFileSync(file, JSON.stringify(run));
    expect(() => readResults(file)).toThrow(
      /results\.json: cells\.2\.verdict: .* \(see schema\/results\.schema\.json\)/,
    );
    writeFileSync(file, '{ not json');
    expect(() => readResults(file)).toThrow(/not a results\.json/);
  });
});
