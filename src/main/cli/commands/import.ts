// `transfer-studio import <folder> --project <file>`: add a folder of images to a project (created if
// missing), with labels from sub-folders or a GTSRB annotation CSV.
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { Option, type Command } from 'commander'
import type { ImportProgressEvent, ImportRequest, LabelSource } from '../../../shared/types'
import type { Backend } from '../../backend'
import { UserError, table, type CliContext } from '../context'

interface ImportOptions {
  project: string
  labels: LabelSource
  names?: string
  annotations?: string
  cropRoi?: boolean
  json?: boolean
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description('import a folder of images into a project (creates the project file if missing)')
    .argument('<folder>', 'folder to import, recursively')
    .requiredOption('-p, --project <file>', 'project file (.tsproj)')
    .addOption(
      new Option('--labels <source>', 'where labels come from')
        .choices(['folders', 'gtsrb-csv', 'none'])
        .default('folders')
    )
    .option('--names <csv>', 'ClassId,SignName CSV giving class names')
    .option(
      '--annotations <csv>',
      'GTSRB annotation CSV (with --labels gtsrb-csv; found in the folder if omitted)'
    )
    .option('--crop-roi', 'crop each image to its annotated region (with --labels gtsrb-csv)')
    .option('--json', 'print one JSON object')
    .action(async (folderArg: string, opts: ImportOptions) => {
      const folder = resolve(folderArg)
      if (!existsSync(folder) || !statSync(folder).isDirectory())
        throw new UserError(`not a folder: ${folder}`)
      for (const [flag, file] of [
        ['--names', opts.names],
        ['--annotations', opts.annotations]
      ] as const) {
        if (file !== undefined && !existsSync(file))
          throw new UserError(`${flag} file not found: ${resolve(file)}`)
      }
      const summary = await ctx.withProject(opts.project, { create: true }, async (backend) => {
        const stopProgress = ctx.io.stderr.isTTY ? drawProgress(ctx, backend) : () => {}
        const stopCancel = cancelOnInterrupt(ctx, backend)
        try {
          const request: ImportRequest = { folder, labels: opts.labels }
          if (opts.names) request.namesCsv = resolve(opts.names)
          if (opts.annotations) request.annotationsCsv = resolve(opts.annotations)
          if (opts.cropRoi) request.cropToRoi = true
          return await backend.handlers['library:import'](request)
        } finally {
          stopCancel()
          stopProgress()
        }
      })
      const classes = summary.classes.map(({ id, key, name, count }) => ({ id, key, name, count }))
      if (opts.json) {
        ctx.json({
          project: resolve(opts.project),
          status: summary.status,
          imported: summary.imported,
          skipped_duplicates: summary.skippedDuplicates,
          moved: summary.moved,
          failed: summary.failed,
          classes,
          seconds: summary.seconds
        })
      } else {
        ctx.print(
          `Imported ${summary.imported} images into ${resolve(opts.project)} in ${summary.seconds.toFixed(1)} s` +
            (summary.status === 'done' ? '' : ` (${summary.status})`),
          `  duplicates skipped: ${summary.skippedDuplicates}, moved: ${summary.moved}, failed: ${summary.failed.length}`
        )
        for (const f of summary.failed.slice(0, 20)) ctx.print(`  failed: ${f.path}: ${f.reason}`)
        if (summary.failed.length > 20) ctx.print(`  ... and ${summary.failed.length - 20} more failures`)
        if (classes.length > 0) {
          ctx.print(
            `${classes.length} classes:`,
            ...table(classes.map((c) => ['  ', c.key, c.name, c.count]))
          )
        }
      }
      if (summary.status === 'failed') throw new UserError('import failed')
      if (summary.status === 'cancelled') {
        throw new UserError(
          `import cancelled; the ${summary.imported} images added before stay in the project`,
          130
        )
      }
    })
}

/**
 * Ctrl+C (or the injected abort signal) cancels the import through the backend instead of killing the
 * process, so what was committed stays and the summary is still printed. A second Ctrl+C is not caught.
 */
function cancelOnInterrupt(ctx: CliContext, backend: Backend): () => void {
  let importId: number | undefined
  let requested = false
  const cancel = (): void => {
    if (importId !== undefined) void backend.handlers['library:cancelImport']({ importId })
  }
  const off = backend.on('import-progress', (e: ImportProgressEvent) => {
    const first = importId === undefined
    importId = e.importId
    if (first && requested) cancel()
  })
  const onInterrupt = (): void => {
    requested = true
    ctx.io.stderr.write('\ncancelling the import...\n')
    cancel()
  }
  process.once('SIGINT', onInterrupt)
  ctx.io.signal?.addEventListener('abort', onInterrupt, { once: true })
  if (ctx.io.signal?.aborted) onInterrupt()
  return () => {
    off()
    process.off('SIGINT', onInterrupt)
    ctx.io.signal?.removeEventListener('abort', onInterrupt)
  }
}

/** One rewritten line on stderr: `importing 1200/6450  850/s  ETA 6 s`. */
function drawProgress(ctx: CliContext, backend: Backend): () => void {
  let last = 0
  const off = backend.on('import-progress', (e: ImportProgressEvent) => {
    const now = Date.now()
    const terminal = e.phase === 'done' || e.phase === 'cancelled' || e.phase === 'failed'
    if (!terminal && now - last < 100) return
    last = now
    const eta = e.etaSeconds === null ? '' : `  ETA ${Math.ceil(e.etaSeconds)} s`
    ctx.io.stderr.write(`\r\x1b[K${e.phase} ${e.done}/${e.total}  ${Math.round(e.rate)}/s${eta}`)
  })
  return () => {
    off()
    ctx.io.stderr.write('\r\x1b[K')
  }
}
