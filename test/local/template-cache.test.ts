/** The local template cache: keyed by every source the synth reads, and the same template a fresh synth gives. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/stage-function';
import { synthesizeTemplate } from '../../local/synthesize';
import { templateCacheKey } from '../../local/template-cache';

const root = mkdtempSync(path.join(os.tmpdir(), 'media-triage-template-key-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, content: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), content);
}

describe('template cache key', () => {
  it('changes with any source the synth reads, and with the account; not with unrelated files', () => {
    write('lib/app.ts', 'export const a = 1;');
    write('lambdas/stages.ts', 'export const b = 1;');
    write('config/taxonomy.json', '{"version":"1"}');
    write('cdk.json', '{}');
    const base = templateCacheKey(root, '');
    expect(templateCacheKey(root, '')).toBe(base);
    write('README.md', 'docs change nothing');
    write('test/x.test.ts', 'neither do tests');
    expect(templateCacheKey(root, '')).toBe(base);
    expect(templateCacheKey(root, '123456789012')).not.toBe(base);
    for (const file of ['lib/app.ts', 'lambdas/stages.ts', 'config/taxonomy.json', 'cdk.json']) {
      write(file, `${file} changed`);
      expect(templateCacheKey(root, ''), file).not.toBe(base);
    }
  });

  it('gives back the template a fresh synth gives', () => {
    const first = synthesizeTemplate();
    const key = templateCacheKey(PROJECT_ROOT);
    expect(existsSync(path.join(PROJECT_ROOT, 'node_modules', '.cache', 'media-triage', 'templates', `${key}.json`))).toBe(true);
    const previous = process.env['MEDIA_TRIAGE_TEMPLATE_CACHE'];
    process.env['MEDIA_TRIAGE_TEMPLATE_CACHE'] = 'off';
    try {
      expect(synthesizeTemplate()).toEqual(first);
    } finally {
      if (previous === undefined) delete process.env['MEDIA_TRIAGE_TEMPLATE_CACHE'];
      else process.env['MEDIA_TRIAGE_TEMPLATE_CACHE'] = previous;
    }
    expect(synthesizeTemplate()).toEqual(first);
  });
});
