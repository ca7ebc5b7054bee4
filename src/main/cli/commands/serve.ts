// `transfer-studio serve`: run the backend as a local web server and print the URL to open in a browser.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { startServer } from '../../server'
import { isLoopbackHost } from '../../server/security'
import { UserError, parseNumber, type CliContext } from '../context'

interface ServeOptions {
  project?: string
  port: string
  host: string
  allowRemote?: boolean
  static?: string
}

/** The built renderer: beside the bundled cli.js (out/main/../renderer), or out/renderer of the checkout. */
export function findRendererDir(): string | undefined {
  const candidates = [join(__dirname, '../renderer'), resolve(__dirname, '../../../../out/renderer')]
  return candidates.find((dir) => existsSync(join(dir, 'index.html')))
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the studio on a local port and print the URL to open')
    .option('-p, --project <file>', 'project file to open (created if missing)')
    .option('--port <n>', 'port (0 picks a free one)', '0')
    .option('--host <address>', 'interface to listen on', '127.0.0.1')
    .option(
      '--allow-remote',
      'allow a non-loopback --host (anyone who can reach it and has the token gets in)'
    )
    .option('--static <dir>', 'built renderer folder (default: out/renderer)')
    .action(async (opts: ServeOptions) => {
      const port = parseNumber(opts.port, '--port', (n) => Number.isInteger(n) && n >= 0 && n < 65536)
      if (!isLoopbackHost(opts.host)) {
        if (!opts.allowRemote) {
          throw new UserError(
            `refusing to listen on ${opts.host}: not a loopback address (add --allow-remote)`
          )
        }
        ctx.io.stderr.write(
          `warning: listening on ${opts.host}; anyone who can reach this port and learns the token can read ` +
            'and change the project. Plain HTTP: use only on a trusted network.\n'
        )
      }
      const staticDir = opts.static ? resolve(opts.static) : findRendererDir()
      if (!staticDir || !existsSync(join(staticDir, 'index.html'))) {
        ctx.io.stderr.write(
          'warning: the renderer is not built (run `npm run build`); only the API is served\n'
        )
      }
      // Without --project the page starts at the project picker.
      const backend = await ctx.openProject(opts.project, { create: true })
      try {
        const server = await startServer({
          backend,
          port,
          host: opts.host,
          staticDir,
          allowRemote: opts.allowRemote
        })
        ctx.print(
          `Transfer Studio${opts.project ? ` (${resolve(opts.project)})` : ''} is running. Open:`,
          '',
          `  ${server.url}`,
          '',
          'Press Ctrl+C to stop.'
        )
        await untilStopped(ctx.io.signal)
        await server.close()
      } finally {
        await backend.dispose()
      }
    })
}

/** Resolves on Ctrl+C, SIGTERM or the injected abort signal. */
function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      signal?.removeEventListener('abort', stop)
      done()
    }
    if (signal?.aborted) return done()
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    signal?.addEventListener('abort', stop)
  })
}
