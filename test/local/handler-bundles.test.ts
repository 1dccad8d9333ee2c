/** The handler bundle cache: a bundle is reused exactly while the project files it was built from are unchanged. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledHandler, bundleIndex, reusableBundle } from '../../local/handler-bundles';

const root = mkdtempSync(path.join(os.tmpdir(), 'media-triage-bundles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, content: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), content);
}

describe('handler bundle cache', () => {
  it('records the files a bundle was built from, reuses it while they are unchanged, and not after an edit', async () => {
    write('tsconfig.json', '{"compilerOptions":{"strict":true}}');
    write('package-lock.json', '{"lockfileVersion":3}');
    write('lambdas/functions/echo.ts', "import { answer } from '../core/answer';\nexport const handler = async () => answer;\n");
    write('lambdas/core/answer.ts', 'export const answer = 42;\n');
    write('lambdas/core/unrelated.ts', 'export const other = 1;\n');
    const url = await bundledHandler(root, 'lambdas/functions/echo.ts');
    const module = (await import(url)) as { handler: () => Promise<number> };
    expect(await module.handler()).toBe(42);

    const index = await bundleIndex(root, 'lambdas/functions/echo.ts');
    expect(index?.inputs).toEqual(expect.arrayContaining([path.join('lambdas', 'core', 'answer.ts'), path.join('lambdas', 'functions', 'echo.ts')]));
    expect(index?.inputs.some((input) => input.includes('unrelated'))).toBe(false);
    expect(reusableBundle(root, 'echo')).toBe(url);

    write('lambdas/core/unrelated.ts', 'export const other = 2;\n');
    expect(reusableBundle(root, 'echo')).toBe(url);
    write('lambdas/core/answer.ts', 'export const answer = 43;\n');
    expect(reusableBundle(root, 'echo')).toBeUndefined();
    write('lambdas/core/answer.ts', 'export const answer = 42;\n');
    expect(reusableBundle(root, 'echo')).toBe(url);
    write('package-lock.json', '{"lockfileVersion":3,"packages":{}}');
    expect(reusableBundle(root, 'echo')).toBeUndefined();
  });
});
