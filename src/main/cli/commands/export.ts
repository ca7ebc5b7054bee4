// `transfer-studio export --project <file> --run <id> --out <dir>`: copy a trained run's model to a new
// export folder (TF.js model, model.onnx, labels, metadata, README).
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { TrainingService, inProcessRunner } from '../../training/trainingService'
import { UserError, parseNumber, type CliContext } from '../context'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description("export a trained run's model to a new folder")
    .requiredOption('-p, --project <file>', 'project file (.tsproj)')
    .requiredOption('--run <id>', 'run id (see `info` or the app)')
    .requiredOption('--out <dir>', 'new or empty folder to write')
    .option('--json', 'print one JSON object')
    .action(async (opts: { project: string; run: string; out: string; json?: boolean }) => {
      const runId = parseNumber(opts.run, '--run', (n) => Number.isInteger(n) && n > 0, '(a run id)')
      const r = await ctx.withProject(opts.project, {}, async (backend) => {
        const service = new TrainingService(backend.services.projects, { runner: inProcessRunner() })
        try {
          return await service.exportRun(runId, resolve(opts.out))
        } catch (err) {
          throw new UserError((err as Error).message)
        }
      })
      if (opts.json) ctx.json({ run_id: runId, out: r.dir, files: r.files, onnx_error: r.onnxError })
      else
        ctx.print(
          `Exported run ${runId} to ${r.dir}`,
          `  ${r.files.join(', ')}`,
          ...(r.onnxError ? [`  no model.onnx: ${r.onnxError}`] : [])
        )
    })
}
