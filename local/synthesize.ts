/**
 * The in-process synth of the stack for the local mode. Kept apart from local-session.ts because it loads the whole
 * CDK (aws-cdk-lib, seconds of start-up): local commands import this module only when the template cache
 * (local/template-cache.ts) has no template for the current sources (`loadTemplate()` in local-session.ts).
 */
import { buildApp, STACK_NAME } from '../lib/app';
import { LOCAL_REGION } from './local-identity';
import { PROJECT_ROOT } from './project-root';
import { readCachedTemplate, templateCacheKey, writeCachedTemplate } from './template-cache';
import { withTempDir } from './temp-dirs';
import type { CfnTemplate } from './template';

/**
 * Synthesizes the stack with bundling skipped: same template, placeholder asset hashes. In the stand-ins' region, so
 * the template's ARNs and the DLC image are those of the region the local SDK clients use (and no AWS region or
 * credentials are needed). The cloud assembly goes to a temp folder of our own that is removed afterwards (CDK's
 * default outdir is a new `cdk.out*` folder in the OS temp dir per synth, never removed).
 */
export function synthesizeTemplate(): CfnTemplate {
  // The same sources give the same template: reuse it (local/template-cache.ts) rather than synthesize again.
  const key = templateCacheKey(PROJECT_ROOT);
  const cached = readCachedTemplate(PROJECT_ROOT, key);
  if (cached !== undefined) return cached;
  const template = withTempDir('synth', (outdir) => {
    const { app } = buildApp({ skipBundling: true, nag: false, outdir, region: LOCAL_REGION });
    return app.synth().getStackByName(STACK_NAME).template as CfnTemplate;
  });
  writeCachedTemplate(PROJECT_ROOT, key, template);
  return template;
}
