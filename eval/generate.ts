/**
 * Regenerates eval/data/labelled-set.json from the seeded generator (eval/generator.ts) and the shipped taxonomy.
 *
 *   node --import tsx eval/generate.ts            write the file
 *   node --import tsx eval/generate.ts --check    exit 1 if the committed file differs from a fresh generation
 *
 * Deterministic: the same seed, size and taxonomy give the same bytes, so a diff means the generator or the taxonomy
 * changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { generateLabelledSet } from './generator';
import { LABELLED_SET_URL, serializeLabelledSet } from './labelled-set';

const check = process.argv.includes('--check');
const text = serializeLabelledSet(generateLabelledSet(loadTaxonomy()));
const target = fileURLToPath(LABELLED_SET_URL);

if (check) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing file: reported as out of date below
  }
  if (current !== text) {
    console.error(`${target} is out of date; regenerate it with: node --import tsx eval/generate.ts`);
    process.exitCode = 1;
  } else {
    console.log(`${target} is up to date`);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target} (${Buffer.byteLength(text)} bytes)`);
}
