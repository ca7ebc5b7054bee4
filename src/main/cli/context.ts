// What every CLI command gets: the output streams, how to open a project through the backend, and the
// formatting helpers. Commands hold argument parsing and formatting only; the work is the backend's.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { createBackend, type Backend } from '../backend'
import type { WorkerEntry } from '../ml'

export interface CliOutput {
  write(text: string): unknown
  /** True on an interactive terminal: progress lines are drawn only there. */
  isTTY?: boolean
}

export interface CliIo {
  stdout: CliOutput
  stderr: CliOutput
  /** Where recent projects and settings live; the desktop app's userData folder by default. */
  dataDir: string
  /** Stops long-running commands when aborted (`serve` exits, `import` cancels); so does Ctrl+C. */
  signal?: AbortSignal
  /**
   * The gradient worker `train` splits each batch over on wasm; by default the one built beside cli.js
   * (out/main/gradWorker.js). Benches and tests that run the CLI from source give the .ts with jiti.
   */
  gradWorker?: WorkerEntry
}

/** A mistake in the command line or its inputs: reported without a stack, exit code 1. */
export class UserError extends Error {
  override name = 'UserError'
  /** 1 for mistakes; 130 for a run the user interrupted (the shell's code for Ctrl+C). */
  constructor(
    message: string,
    readonly exitCode = 1
  ) {
    super(message)
  }
}

export interface CliContext {
  io: CliIo
  /** The gradient worker `train` uses on wasm, when one is there (the built CLI, or the io's). */
  gradWorker: WorkerEntry | undefined
  /** Write one JSON object to stdout. */
  json(value: unknown): void
  /** Write lines of human-readable text to stdout. */
  print(...lines: string[]): void
  /**
   * A backend with `projectPath` open (none when undefined). With `create`, a missing file is created
   * first; otherwise it is a UserError. The caller disposes the backend (or uses `withProject`).
   */
  openProject(projectPath: string | undefined, opts?: { create?: boolean }): Promise<Backend>
  /** Open the project, run `fn`, and always dispose the backend. */
  withProject<T>(
    projectPath: string,
    opts: { create?: boolean },
    fn: (backend: Backend) => Promise<T>
  ): Promise<T>
}

/** Same folder Electron's `app.getPath('userData')` uses for productName "Transfer Studio". */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['TRANSFER_STUDIO_DATA_DIR']) return resolve(env['TRANSFER_STUDIO_DATA_DIR'])
  const name = 'Transfer Studio'
  if (process.platform === 'win32') return join(env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), name)
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', name)
  return join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), name)
}

export function createContext(io: CliIo): CliContext {
  // The workers are built beside cli.js (out/main): `train` forks the training worker (which uses the gradient
  // worker on wasm), and `serve` answers training:predict from the inference worker, off its event loop.
  const workers = {
    workerEntry: join(__dirname, 'trainWorker.js'),
    gradWorkerEntry: join(__dirname, 'gradWorker.js'),
    inferenceWorker: { entry: join(__dirname, 'inferenceWorker.js') }
  }
  async function openProject(
    projectPath: string | undefined,
    opts: { create?: boolean } = {}
  ): Promise<Backend> {
    if (projectPath === undefined) return createBackend({ dataDir: io.dataDir, ...workers })
    const path = resolve(projectPath)
    const exists = existsSync(path)
    if (!exists && !opts.create) {
      throw new UserError(`project file not found: ${path} (\`import\` creates one)`)
    }
    const backend = createBackend({ dataDir: io.dataDir, ...workers })
    try {
      if (exists) await backend.handlers['project:open']({ path })
      else await backend.handlers['project:create']({ path })
    } catch (error) {
      await backend.dispose()
      throw error
    }
    return backend
  }
  const gradWorker =
    io.gradWorker ?? (existsSync(workers.gradWorkerEntry) ? { file: workers.gradWorkerEntry } : undefined)
  return {
    io,
    gradWorker,
    json: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    print: (...lines) => io.stdout.write(`${lines.join('\n')}\n`),
    openProject,
    async withProject(projectPath, opts, fn) {
      const backend = await openProject(projectPath, opts)
      try {
        return await fn(backend)
      } finally {
        await backend.dispose()
      }
    }
  }
}

/** A plain decimal number as a user types it: no hex, no blanks, no `Infinity`, no digit separators. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

/**
 * Parse a number option, or throw a UserError naming the option. Only decimal notation is taken, so what
 * `Number()` would coerce (`0x10`, ` 5`, `1e999`) is refused rather than read as something else.
 */
export function parseNumber(
  value: string,
  option: string,
  check?: (n: number) => boolean,
  hint = ''
): number {
  const n = Number(value)
  if (!DECIMAL.test(value) || !Number.isFinite(n) || (check && !check(n))) {
    throw new UserError(`${option} must be a number${hint ? ` ${hint}` : ''}, got "${value}"`)
  }
  return n
}

/** Fixed-width text table for the readable summaries. */
export function table(rows: (string | number)[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length))) ?? []
  return rows.map((r) =>
    r
      .map((cell, i) =>
        typeof cell === 'number' ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i])
      )
      .join('  ')
      .trimEnd()
  )
}
