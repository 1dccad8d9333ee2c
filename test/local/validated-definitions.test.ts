/**
 * The cross-process memory of validated state machine definitions (local/validated-definitions.ts): a definition
 * recorded by one process is known to the next (a fresh module instance stands for it), a different definition is
 * not, and with the cache off nothing is remembered across processes.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as ValidatedDefinitions from '../../local/validated-definitions';

async function freshModule(): Promise<typeof ValidatedDefinitions> {
  vi.resetModules();
  return import('../../local/validated-definitions');
}

afterEach(() => {
  delete process.env['MEDIA_TRIAGE_BUNDLE_CACHE'];
});

describe('validated definitions', () => {
  it('are remembered by later processes, one definition at a time', async () => {
    const definition = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } }, Comment: randomUUID() });
    const other = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } }, Comment: randomUUID() });
    const first = await freshModule();
    expect(first.wasValidated(definition)).toBe(false);
    first.recordValidated(definition);
    const later = await freshModule();
    expect(later.wasValidated(definition)).toBe(true);
    expect(later.wasValidated(other)).toBe(false);
  });

  it('are not remembered across processes with the cache turned off', async () => {
    process.env['MEDIA_TRIAGE_BUNDLE_CACHE'] = 'off';
    const definition = JSON.stringify({ StartAt: 'B', States: { B: { Type: 'Succeed' } }, Comment: randomUUID() });
    (await freshModule()).recordValidated(definition);
    expect((await freshModule()).wasValidated(definition)).toBe(false);
  });
});
