// `transfer-studio models list|download|import|remove`: the per-user cache of pretrained weights (the model
// hub, src/main/hub). TS_MODEL_DIR moves the cache; TS_MODEL_CATALOGUE replaces the built-in catalogue.
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { HubError, ModelHubService, type DownloadProgress } from '../../hub'
import { UserError, table, type CliContext } from '../context'

const MB = 1e6
const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`

export function register(program: Command, ctx: CliContext): void {
  const models = program
    .command('models')
    .description('list, download, import and remove pretrained weights (a cache shared by all projects)')

  models
    .command('list')
    .description('list the catalogue and what the cache holds')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const hub = new ModelHubService()
      const list = await hub.list()
      if (opts.json) {
        ctx.json({
          models: list.map(({ id, name, architecture, bytes, downloaded, path }) => ({
            id,
            name,
            architecture,
            bytes,
            downloaded,
            path
          }))
        })
        return
      }
      ctx.print(
        `Model cache: ${hub.dir}`,
        ...table(
          list.map((m) => [
            ' ',
            m.id,
            m.architecture,
            mb(m.bytes),
            m.downloaded ? 'downloaded' : m.partialBytes > 0 ? `partial (${mb(m.partialBytes)})` : '-',
            m.name
          ])
        )
      )
    })

  models
    .command('download')
    .description('download a model into the cache (resumes an interrupted download; Ctrl+C cancels)')
    .argument('<id>', 'model id (see `models list`)')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const hub = new ModelHubService()
      const controller = new AbortController()
      const stopCancel = cancelOnInterrupt(ctx, controller)
      const progress = progressPrinter(ctx)
      const started = performance.now()
      try {
        const r = await hub.download(id, { signal: controller.signal, onProgress: progress.update })
        progress.done()
        const seconds = (performance.now() - started) / 1000
        if (opts.json) {
          ctx.json({
            id: r.id,
            path: r.path,
            bytes: r.bytes,
            sha256: r.sha256,
            checks: r.checks,
            already_present: r.alreadyPresent,
            resumed: r.resumed,
            attempts: r.attempts,
            seconds
          })
        } else if (r.alreadyPresent) {
          ctx.print(`${r.id} is already in the cache: ${r.path}`)
        } else {
          ctx.print(
            `Downloaded ${r.id} (${mb(r.bytes)}) in ${seconds.toFixed(1)} s${r.resumed ? ', resumed' : ''}: ${r.path}`,
            `  verified: ${r.checks.join(', ')}; sha256 ${r.sha256}`
          )
        }
      } catch (e) {
        progress.done()
        if (e instanceof HubError && e.code === 'cancelled') {
          throw new UserError(`download of ${id} cancelled; nothing was kept`, 130)
        }
        throw e
      } finally {
        stopCancel()
      }
    })

  models
    .command('import')
    .description('copy weights downloaded elsewhere into the cache, verified against the catalogue')
    .argument('<file>', 'the weights file')
    .requiredOption('--architecture <arch>', 'the network the file is for (alexnet, resnet18, ...)')
    .option('--id <id>', 'the catalogue model it is (when several of the architecture fit)')
    .option('--json', 'print one JSON object')
    .action(async (file: string, opts: { architecture: string; id?: string; json?: boolean }) => {
      const hub = new ModelHubService()
      const r = await hub.importFile(resolve(file), { architecture: opts.architecture, id: opts.id })
      if (opts.json) {
        ctx.json({ id: r.id, path: r.path, bytes: r.bytes, sha256: r.sha256, checks: r.checks })
        return
      }
      ctx.print(`Imported ${resolve(file)} as ${r.id}: ${r.path}`, `  verified: ${r.checks.join(', ')}`)
    })

  models
    .command('remove')
    .description('delete a model from the cache')
    .argument('<id>', 'model id')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const r = await new ModelHubService().remove(id)
      if (opts.json) ctx.json(r)
      else ctx.print(r.removed ? `Removed ${id} from the cache` : `${id} was not in the cache`)
    })
}

/** Ctrl+C (or the injected abort signal) aborts the download, which then removes its partial file. */
function cancelOnInterrupt(ctx: CliContext, controller: AbortController): () => void {
  const onInterrupt = (): void => {
    if (controller.signal.aborted) return
    ctx.io.stderr.write('\ncancelling the download...\n')
    controller.abort()
  }
  process.once('SIGINT', onInterrupt)
  ctx.io.signal?.addEventListener('abort', onInterrupt, { once: true })
  if (ctx.io.signal?.aborted) onInterrupt()
  return () => {
    process.off('SIGINT', onInterrupt)
    ctx.io.signal?.removeEventListener('abort', onInterrupt)
  }
}

/**
 * Progress on stderr: one redrawn line on a terminal (at most 10 a second), otherwise a plain line every
 * 2 s, so a log shows a long download moving without filling up.
 */
function progressPrinter(ctx: CliContext): { update: (p: DownloadProgress) => void; done: () => void } {
  const tty = !!ctx.io.stderr.isTTY
  const interval = tty ? 100 : 2000
  let last = -Infinity
  let drawn = false
  return {
    update(p) {
      const now = performance.now()
      const finished = p.bytesDone === p.bytesTotal
      if (!finished && now - last < interval) return
      last = now
      const eta = p.etaSeconds === null ? '' : `  ETA ${Math.ceil(p.etaSeconds)} s`
      const retry = p.attempt > 1 ? `  (attempt ${p.attempt})` : ''
      const line =
        `downloading ${p.id}  ${mb(p.bytesDone)} / ${mb(p.bytesTotal)}  ` +
        `${(p.rate / MB).toFixed(1)} MB/s${eta}${retry}`
      if (tty) {
        ctx.io.stderr.write(`\r\x1b[K${line}`)
        drawn = true
      } else ctx.io.stderr.write(`${line}\n`)
    },
    done() {
      if (drawn) ctx.io.stderr.write('\r\x1b[K')
      drawn = false
    }
  }
}
