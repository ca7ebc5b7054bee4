// `transfer-studio info --project <file>`: what a project holds (images, labels, classes, splits).
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { table, type CliContext } from '../context'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('info')
    .description('show what a project holds')
    .requiredOption('-p, --project <file>', 'project file (.tsproj)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { project: string; json?: boolean }) => {
      const { stats, classes } = await ctx.withProject(opts.project, {}, async (backend) => ({
        stats: await backend.handlers['library:stats']({}),
        classes: await backend.handlers['classes:list']({})
      }))
      const rows = classes.map(({ id, key, name, count }) => ({ id, key, name, count }))
      if (opts.json) {
        ctx.json({
          project: resolve(opts.project),
          images: stats.images,
          labelled: stats.labelled,
          unlabelled: stats.unlabelled,
          classes: rows,
          splits: stats.splits
        })
        return
      }
      const s = stats.splits
      ctx.print(
        resolve(opts.project),
        `  images: ${stats.images} (${stats.labelled} labelled, ${stats.unlabelled} unlabelled)`,
        `  splits: train ${s.train}, val ${s.val}, test ${s.test}, unassigned ${s.none}`,
        `  classes: ${rows.length}`,
        ...table(rows.map((c) => ['   ', c.id, c.key, c.name, c.count]))
      )
    })
}
