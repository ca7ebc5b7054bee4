// The `transfer-studio` command line. Built by electron-vite as out/main/cli.js and started by
// bin/transfer-studio.js; `runCli` takes its streams as arguments so tests run it in-process.
import { Command, CommanderError } from 'commander'
import { COMMANDS } from './commands'
import { UserError, createContext, defaultDataDir, type CliIo } from './context'

export type { CliIo } from './context'

/** JavaScript's own error types mean a bug here, not a bad command line. */
const INTERNAL_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'EvalError'])

/**
 * Run one command line (`argv` without `node` and the script name). Resolves with the exit code:
 * 0 on success, 1 for a user error (bad option, missing file, input the backend refused), 2 for a bug.
 */
export async function runCli(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    dataDir: defaultDataDir(),
    ...ioOverrides
  }
  const ctx = createContext(io)
  const program = new Command('transfer-studio')
    .description('Transfer Studio: import and label images, train a transfer-learning classifier, export it.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text)
    })
  for (const register of COMMANDS) register(program, ctx)
  // Sub-commands inherit the override and output settings only if set before they are added, so repeat.
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text)
    })
  }

  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message; help and version are not failures.
      return error.exitCode === 0 ? 0 : 1
    }
    const name = error instanceof Error ? error.name : 'Error'
    const message = error instanceof Error ? error.message : String(error)
    if (INTERNAL_ERRORS.has(name)) {
      io.stderr.write(`internal error: ${message}\n`)
      if (error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`)
      return 2
    }
    io.stderr.write(`error: ${message}\n`)
    if (process.env['TRANSFER_STUDIO_DEBUG'] && error instanceof Error) io.stderr.write(`${error.stack}\n`)
    return error instanceof UserError ? error.exitCode : 1
  }
}

/** Entry point of the bin shim. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2))
}

export { UserError }
