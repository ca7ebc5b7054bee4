// `transfer-studio split --project <file> --val 0.15 --test 0.15`: assign train/val/test, stratified by class.
import { Option, type Command } from 'commander'
import { UserError, parseNumber, table, type CliContext } from '../context'

interface SplitOptions {
  project: string
  val: string
  test: string
  groupBy: 'track' | 'none'
  seed: string
  json?: boolean
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('split')
    .description('assign train/val/test splits, stratified by class and deterministic by seed')
    .requiredOption('-p, --project <file>', 'project file (.tsproj)')
    .requiredOption('--val <ratio>', 'fraction of each class for validation (0..1)')
    .requiredOption('--test <ratio>', 'fraction of each class for test (0..1)')
    .addOption(
      new Option('--group-by <key>', 'keep groups together (track: GTSRB file-name prefix)')
        .choices(['track', 'none'])
        .default('track')
    )
    .option('--seed <n>', 'random seed', '42')
    .option('--json', 'print one JSON object')
    .action(async (opts: SplitOptions) => {
      const inUnit = (n: number): boolean => n >= 0 && n < 1
      const val = parseNumber(opts.val, '--val', inUnit, 'in [0, 1)')
      const test = parseNumber(opts.test, '--test', inUnit, 'in [0, 1)')
      if (val + test >= 1) throw new UserError(`--val + --test must be below 1, got ${val + test}`)
      const seed = parseNumber(opts.seed, '--seed', Number.isSafeInteger, '(an integer)')
      const { summary, classes } = await ctx.withProject(opts.project, {}, async (backend) => ({
        summary: await backend.handlers['library:split']({ val, test, groupBy: opts.groupBy, seed }),
        classes: await backend.handlers['classes:list']({})
      }))
      if (opts.json) {
        ctx.json({ ...summary, val_ratio: val, test_ratio: test, group_by: opts.groupBy, seed })
        return
      }
      const names = new Map(classes.map((c) => [c.id, c.name]))
      ctx.print(
        `Split (seed ${seed}, grouped by ${opts.groupBy}): train ${summary.train}, val ${summary.val}, test ${summary.test}`,
        ...table([
          ['  ', 'class', 'train', 'val', 'test'],
          ...summary.perClass.map((p) => [
            '  ',
            names.get(p.classId) ?? String(p.classId),
            p.train,
            p.val,
            p.test
          ])
        ])
      )
    })
}
