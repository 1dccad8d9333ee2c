/**
 * `media-triage review next|decide|release|stats|serve|gold add` and `media-triage dataset export`: the human review
 * loop, on the local state or a deployed stack (`--stack`, resolved in cli/target.ts). Each action opens the target,
 * makes one call into the review services (lambdas/adapters/review-*.ts) or the console (console/), and prints.
 */
import { Argument, Command, Option } from 'commander';
import { printJsonLine } from '../output';
import { optionValue, UsageError } from '../usage';
import type { Target } from '../target';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

interface TargetOptions extends JsonOption, StateDirOption {
  stack?: string;
  region?: string;
}

interface ReviewerOptions extends TargetOptions {
  reviewer: string;
}

const REVIEWER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function reviewerId(value: string): string {
  if (!REVIEWER_ID.test(value)) throw new UsageError(`--reviewer "${value}" is not a reviewer id (letters, digits, . _ @ -; at most 64)`);
  return value;
}

function days(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new UsageError(`--days "${value}" is not a positive number of days`);
  return parsed;
}

function targetOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--stack <name>', 'work on this deployed stack (names from its CloudFormation outputs) instead of the local state').argParser(optionValue),
    )
    .addOption(new Option('--region <region>', 'AWS region of --stack (default: from the AWS environment)').argParser(optionValue))
    .addOption(stateDirOption())
    .addOption(jsonOption());
}

function reviewerOption(): Option {
  return new Option('--reviewer <id>', 'who is reviewing (recorded on every decision)').argParser(reviewerId).makeOptionMandatory();
}

async function openFor(options: TargetOptions, command: string) {
  const [{ withTarget }, { checkStateDir }] = await Promise.all([import('../target'), import('../checks/state-dir')]);
  const stateDir = await checkStateDir(options.stateDir);
  return <T>(work: (target: Target) => Promise<T>) => withTarget({ stack: options.stack, region: options.region, stateDir, command }, work);
}

async function reviewWork(target: Target) {
  const [{ ReviewWork }, { loadTaxonomy }, { loadReviewPolicy }] = await Promise.all([
    import('../../lambdas/adapters/review-work'),
    import('../../lambdas/core/taxonomy'),
    import('../../lambdas/core/review/review-policy'),
  ]);
  return new ReviewWork(target.review, loadTaxonomy(), loadReviewPolicy());
}

function window(daysBack: number): { from: Date; to: Date } {
  const to = new Date(Date.now() + 60_000);
  return { from: new Date(to.getTime() - daysBack * 86_400_000), to };
}

export function reviewCommand(context: CommandContext): Command {
  const review = new Command('review').description('the human review loop: claim, decide, release, stats, and the web console');

  review.addCommand(
    targetOptions(
      new Command('next')
        .description('claim the next asset you may review and show it (the image, declared vs predicted, policy scores, reasons, explanation)')
        .addOption(reviewerOption())
        .option('--adjudicator', 'also take assets whose reviewers disagreed (you decide them finally)'),
    ).action(async (options: ReviewerOptions & { adjudicator?: boolean }) => {
      const run = await openFor(options, `review next (${options.reviewer})`);
      await run(async (target) => {
        const claimed = await (await reviewWork(target)).next(options.reviewer, { adjudicator: options.adjudicator === true });
        const { formatCase } = await import('../review-output');
        if (claimed === undefined) {
          if (options.json === true) printJsonLine({ assetKey: null, empty: true, message: 'nothing to review' });
          else console.log('Nothing to review right now.');
          return;
        }
        // The role stays out of what a reviewer sees: a gold item must look like any other.
        const { view, claim } = claimed;
        if (options.json === true)
          printJsonLine({
            ...view,
            reasons: view.reasons.map((r) => r.code),
            reasonDetails: view.reasons,
            claimExpiresAt: claim.expiresAt,
            target: target.description,
          });
        else console.log(formatCase(view, claim.expiresAt));
      });
      context.setExitCode(0);
    }),
  );

  review.addCommand(
    targetOptions(
      new Command('decide')
        .description('record your decision on an asset you claimed (then it leaves your queue)')
        .addArgument(new Argument('<assetKey>', 'the asset key `review next` showed (e.g. row-000003)'))
        .addOption(new Option('--label <label>', 'approve | reject | recategorize:<category>').argParser(optionValue).makeOptionMandatory())
        .addOption(new Option('--note <text>', 'a note kept with the decision').argParser(optionValue))
        .addOption(new Option('--batch <batchId>', 'the batch, when you hold the same asset key in several').argParser(optionValue))
        .addOption(reviewerOption()),
    ).action(async (assetKey: string, options: ReviewerOptions & { label: string; note?: string; batch?: string }) => {
      const [{ parseLabel, InvalidLabelError }, { loadTaxonomy }] = await Promise.all([
        import('../../lambdas/core/review/labels'),
        import('../../lambdas/core/taxonomy'),
      ]);
      let label;
      try {
        label = parseLabel(options.label, loadTaxonomy());
      } catch (error) {
        if (error instanceof InvalidLabelError) throw new UsageError(`--label: ${error.message}`);
        throw error;
      }
      const run = await openFor(options, `review decide (${options.reviewer})`);
      await run(async (target) => {
        const { decision, state } = await (await reviewWork(target)).decide(options.reviewer, assetKey, label, { note: options.note, batchId: options.batch });
        const { role: _role, ...shown } = decision;
        const result = { ...shown, reviewStatus: state?.status ?? 'RECORDED' };
        if (options.json === true) printJsonLine(result);
        else
          console.log(
            `Recorded ${decision.label} on ${decision.batchId}/${decision.assetKey} (${Math.round(decision.timeToLabelMs / 1000)} s after the claim).`,
          );
      });
      context.setExitCode(0);
    }),
  );

  review.addCommand(
    targetOptions(
      new Command('release')
        .description('give back your claim (one asset, or all you hold) so someone else can take it')
        .addArgument(new Argument('[assetKey]', 'the asset to give back (default: all your claims)'))
        .addOption(reviewerOption()),
    ).action(async (assetKey: string | undefined, options: ReviewerOptions) => {
      const run = await openFor(options, `review release (${options.reviewer})`);
      await run(async (target) => {
        const released = await (await reviewWork(target)).release(options.reviewer, assetKey);
        if (options.json === true) printJsonLine({ released, reviewer: options.reviewer });
        else console.log(`Released ${released} claim${released === 1 ? '' : 's'}.`);
      });
      context.setExitCode(0);
    }),
  );

  review.addCommand(
    targetOptions(
      new Command('stats')
        .description('decisions, reviewers, pending work, agreement (raw, Cohen’s kappa, Gwet’s AC1, per class and per day) and gold accuracy')
        .addOption(new Option('--days <n>', 'the window, in days back from now').argParser(days).default(30)),
    ).action(async (options: TargetOptions & { days: number }) => {
      const run = await openFor(options, 'review stats');
      await run(async (target) => {
        const { reviewStats } = await import('../../lambdas/adapters/review-stats');
        const stats = await reviewStats(target.review, window(options.days));
        const { formatStats } = await import('../review-output');
        if (options.json === true) printJsonLine(stats);
        else console.log(formatStats(stats));
      });
      context.setExitCode(0);
    }),
  );

  review.addCommand(
    targetOptions(
      new Command('serve').description('the review web console on 127.0.0.1 (review page and Batches page); Ctrl-C stops it').addOption(
        new Option('--port <port>', 'port on 127.0.0.1 (0: any free port)')
          .argParser((value) => {
            const port = Number(value);
            if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port "${value}" is not a port number`);
            return port;
          })
          .default(8080),
      ),
    ).action(async (options: TargetOptions & { port: number }) => {
      const { openTarget } = await import('../target');
      const { checkStateDir } = await import('../checks/state-dir');
      const target = await openTarget({
        stack: options.stack,
        region: options.region,
        stateDir: await checkStateDir(options.stateDir),
        command: 'review serve',
      });
      const [{ startReviewConsole }, { readS3Object }, { reviewStats }, { loadTaxonomy }] = await Promise.all([
        import('../../console/server'),
        import('../../console/s3-image'),
        import('../../lambdas/adapters/review-stats'),
        import('../../lambdas/core/taxonomy'),
      ]);
      const batches = await (await import('../../console/target-batches')).batchesFor(target);
      const console_ = await startReviewConsole({
        work: await reviewWork(target),
        stats: (w) => reviewStats(target.review, w),
        readImage: readS3Object,
        taxonomy: loadTaxonomy(),
        host: '127.0.0.1',
        port: options.port,
        batches,
      });
      if (options.json === true) printJsonLine({ url: console_.url, target: target.description });
      else console.log(`Review console for ${target.description}: ${console_.url}  (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await console_.close();
      await batches?.close?.();
      await target.close();
      context.setExitCode(0);
    }),
  );

  const gold = new Command('gold').description('known-answer items mixed into reviewers’ queues');
  gold.addCommand(
    targetOptions(
      new Command('add')
        .description('make an asset a gold item with its known answer (e.g. a consolidated review you trust)')
        .addArgument(new Argument('<batchId>'))
        .addArgument(new Argument('<assetKey>'))
        .addOption(new Option('--label <label>', 'the known answer: approve | reject | recategorize:<category>').argParser(optionValue).makeOptionMandatory())
        .addOption(new Option('--source <source>', 'where the answer comes from (seed, or promoted:<reviewTaskId>)').argParser(optionValue).default('seed'))
        .addOption(new Option('--by <id>', 'who adds it (audit log)').argParser(reviewerId).default('lead')),
    ).action(async (batchId: string, assetKey: string, options: TargetOptions & { label: string; source: string; by: string }) => {
      const [{ parseLabel }, { loadTaxonomy }] = await Promise.all([import('../../lambdas/core/review/labels'), import('../../lambdas/core/taxonomy')]);
      const label = (() => {
        try {
          return parseLabel(options.label, loadTaxonomy());
        } catch (error) {
          throw new UsageError(`--label: ${(error as Error).message}`);
        }
      })();
      const run = await openFor(options, 'review gold add');
      await run(async (target) => {
        const item = { batchId, assetKey, label, source: options.source };
        await (await reviewWork(target)).addGold(item, options.by);
        if (options.json === true) printJsonLine({ gold: item });
        else console.log(`Gold item ${batchId}/${assetKey}: ${label}`);
      });
      context.setExitCode(0);
    }),
  );
  review.addCommand(gold);
  return review;
}

export function datasetCommand(context: CommandContext): Command {
  const dataset = new Command('dataset').description('labelled datasets from reviewed decisions');
  dataset.addCommand(
    targetOptions(
      new Command('export')
        .description('write the consolidated reviewed decisions as a versioned labelled dataset (JSONL) under datasets/ in the reports bucket')
        .addOption(new Option('--days <n>', 'decisions finalized in this many days back from now').argParser(days).default(365))
        .addOption(new Option('--out <file>', 'also write the JSONL to this local file').argParser(optionValue)),
    ).action(async (options: TargetOptions & { days: number; out?: string }) => {
      const run = await openFor(options, 'dataset export');
      await run(async (target) => {
        const { exportDataset } = await import('../../lambdas/adapters/dataset-export');
        const exported = await exportDataset(target.names, window(options.days));
        const body = exported.lines.map((line) => JSON.stringify(line)).join('\n') + (exported.lines.length > 0 ? '\n' : '');
        let path =
          target.kind === 'local'
            ? await target.review.imageLocation(target.names.reportsBucket, exported.key)
            : `s3://${target.names.reportsBucket}/${exported.key}`;
        if (options.out !== undefined) {
          const { writeFile } = await import('node:fs/promises');
          await writeFile(options.out, body);
          path = options.out;
        }
        const result = { path, items: exported.items, version: exported.version, key: exported.key, bucket: target.names.reportsBucket };
        if (options.json === true) printJsonLine(result);
        else console.log(`Exported ${exported.items} reviewed decision${exported.items === 1 ? '' : 's'} as dataset ${exported.version}: ${path}`);
      });
      context.setExitCode(0);
    }),
  );
  return dataset;
}
