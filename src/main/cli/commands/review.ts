// `transfer-studio review --project <file> [--base <id|file>] [--json]`: the data review (issue 16): label
// issues by confident learning on cross-validated probabilities, near-duplicate pairs and cross-split leaks,
// outliers and the library's health. The work is ReviewService's; this file parses options and formats.
import type { Command } from 'commander'
import type { ReviewReport } from '../../../shared/review'
import { ModelHubService } from '../../hub'
import { ReviewService } from '../../review/reviewService'
import { inProcessRunner } from '../../training/trainingService'
import { baseOf } from './train'
import { codeOf } from '../../errors'
import { UserError, parseNumber, table, type CliContext } from '../context'

interface ReviewCliOptions {
  project: string
  base?: string
  architecture?: string
  folds: string
  epochs?: string
  threshold: string
  seed: string
  top: string
  json?: boolean
}

/** The report as the CLI's JSON prints it (snake_case, as the issue specifies). */
export function reviewJson(report: ReviewReport): object {
  const image = (i: { imageId: number; path: string; split: string | null }): object => ({
    image_id: i.imageId,
    path: i.path,
    split: i.split
  })
  return {
    review_id: report.reviewId,
    seconds: report.seconds,
    method: report.method,
    label_issues: report.labelIssues.map((i) => ({
      image_id: i.imageId,
      path: i.path,
      label: i.label,
      suggested: i.suggested,
      score: i.score
    })),
    near_duplicates: report.nearDuplicates.map((p) => ({
      a: image(p.a),
      b: image(p.b),
      similarity: p.similarity,
      cross_split: p.crossSplit
    })),
    cross_split_pairs: report.crossSplitPairs,
    outliers: report.outliers.map((o) => ({ ...image(o), score: o.score })),
    health: report.health,
    failed: report.failed,
    // How the embedding map was drawn (the map itself is the screen's), and why PCA when it was.
    map_method: report.mapMethod ?? null,
    map_fallback: report.mapFallback ?? null
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('review')
    .description(
      'find likely wrong labels, near-duplicates and leaks across splits, outliers, and class balance'
    )
    .requiredOption('-p, --project <file>', 'project file (.tsproj)')
    .option(
      '--base <id|file>',
      'a hub model id or base file (bvlc-alexnet.npy, .pth with --architecture, .onnx): much faster, on its features'
    )
    .option('--architecture <name>', 'the network of a .pth base')
    .option('--folds <n>', 'cross-validation folds', '3')
    .option(
      '--epochs <n>',
      'epochs per fold model (default: enough for ~600 steps, 6 to 30, for the compact CNN; 30 on a base)'
    )
    .option('--threshold <s>', 'cosine similarity from which two images are near-duplicates', '0.97')
    .option('--seed <n>', 'random seed', '42')
    .option('--top <n>', 'rows of each list to print (text output)', '20')
    .option('--json', 'print one JSON object')
    .action(async (opts: ReviewCliOptions) => {
      const folds = parseNumber(
        opts.folds,
        '--folds',
        (n) => Number.isInteger(n) && n >= 2 && n <= 10,
        '(2..10)'
      )
      const epochs =
        opts.epochs === undefined
          ? undefined
          : parseNumber(opts.epochs, '--epochs', (n) => Number.isInteger(n) && n >= 1 && n <= 100, '(1..100)')
      const threshold = parseNumber(opts.threshold, '--threshold', (n) => n >= 0.5 && n <= 1, '(0.5..1)')
      const seed = parseNumber(opts.seed, '--seed', (n) => Number.isInteger(n) && n >= 0, '(an integer >= 0)')
      const top = parseNumber(opts.top, '--top', (n) => Number.isInteger(n) && n >= 0)
      const base = baseOf(opts.base, opts.architecture)
      if (base.kind === 'run' || base.kind === 'studio-model')
        throw new UserError('--base must be a hub model id or a bvlc-alexnet.npy, .pth or .onnx file')
      const report = await ctx.withProject(opts.project, {}, async (backend) => {
        // In process, as `train` runs: the CLI is the worker here.
        const service = new ReviewService(backend.services.projects, backend.services.library, {
          runner: inProcessRunner(),
          gradWorker: ctx.gradWorker,
          models: new ModelHubService()
        })
        const tty = ctx.io.stderr.isTTY && !opts.json
        const off = service.onProgress((e) => {
          if (!tty || e.state !== 'running') return
          const fold = e.fold ? ` fold ${e.fold}/${e.folds}` : ''
          ctx.io.stderr.write(`\r${e.stage}${fold}: ${e.done}/${e.total}    `)
        })
        const onInterrupt = (): void => {
          ctx.io.stderr.write('\ncancelling the review...\n')
          service.cancel()
        }
        process.once('SIGINT', onInterrupt)
        ctx.io.signal?.addEventListener('abort', onInterrupt, { once: true })
        try {
          return await service.start({
            base: base.kind === 'none' ? undefined : base,
            folds,
            epochs,
            duplicateThreshold: threshold,
            seed
          })
        } catch (err) {
          if (codeOf(err)?.code === 'review.cancelled') throw new UserError('review cancelled', 130)
          throw err
        } finally {
          if (tty) ctx.io.stderr.write('\n')
          off()
          process.removeListener('SIGINT', onInterrupt)
          ctx.io.signal?.removeEventListener('abort', onInterrupt)
        }
      })
      if (opts.json) {
        ctx.json(reviewJson(report))
        return
      }
      const m = report.method
      const h = report.health
      ctx.print(
        `Review of ${h.images} images (${h.labelled} labelled) in ${report.seconds.toFixed(1)} s: ${m.engine}, ${m.folds} folds x ${m.epochs} epochs, out-of-sample accuracy ${(m.cvAccuracy * 100).toFixed(1)}%`,
        '',
        `Label issues: ${report.labelIssues.length} (most likely wrong first)`,
        ...table([
          ['  ', 'image', 'label', 'suggested', 'score', 'path'],
          ...report.labelIssues
            .slice(0, top)
            .map((i) => ['  ', i.imageId, i.label, i.suggested, i.score.toFixed(3), i.path])
        ]),
        '',
        `Near-duplicate pairs: ${report.nearDuplicates.length} (similarity >= ${m.duplicateThreshold}), ${report.crossSplitPairs} across splits`,
        ...table([
          ['  ', 'a', 'b', 'similarity', 'splits'],
          ...report.nearDuplicates
            .filter((p) => p.crossSplit)
            .slice(0, top)
            .map((p) => [
              '  ',
              p.a.path,
              p.b.path,
              p.similarity.toFixed(3),
              `${p.a.split ?? '-'}/${p.b.split ?? '-'}`
            ])
        ]),
        '',
        `Outliers: ${report.outliers.length}`,
        ...report.outliers.slice(0, top).map((o) => `   ${o.score.toFixed(2)}  ${o.path}`),
        '',
        `Health: imbalance ratio ${h.imbalanceRatio === null ? 'n/a' : h.imbalanceRatio.toFixed(2)}, ` +
          `sizes ${h.sizes.width.min}-${h.sizes.width.max} x ${h.sizes.height.min}-${h.sizes.height.max} px, ` +
          `${h.smallClasses.length} classes too small for the split`,
        ...h.smallClasses.slice(0, top).map((c) => `   ${c.name}: ${c.total} images (${c.reason})`)
      )
    })
}
