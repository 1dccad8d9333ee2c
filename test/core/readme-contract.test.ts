/** The README documents the closed lists; this keeps the documentation and the code in step. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OUTCOME_DESCRIPTIONS, OUTCOMES, REASON_CODES } from '../../lambdas/core/outcomes';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const tableRows = new Set(readme.split('\n').filter((line) => line.startsWith('| `')));

describe('README contract tables', () => {
  it('lists every outcome with its description', () => {
    for (const outcome of OUTCOMES) expect(tableRows.has(`| \`${outcome}\` | ${OUTCOME_DESCRIPTIONS[outcome]} |`), outcome).toBe(true);
  });

  it('lists every reason code with its description, and no code the code does not know', () => {
    for (const [code, description] of Object.entries(REASON_CODES)) {
      expect(tableRows.has(`| \`${code}\` | ${description} |`), code).toBe(true);
    }
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \| /gm)].map((match) => match[1]!);
    const known = new Set<string>([...OUTCOMES, ...Object.keys(REASON_CODES)]);
    expect(documented.filter((code) => !known.has(code))).toEqual([]);
  });
});
