// The CLI run in-process by the bench scripts, as a user would run `transfer-studio ...`.
import { runCli } from '../../src/main/cli'

/** A runner of CLI commands with `dataDir` as the app's data folder: returns stdout, throws with stderr. */
export function cliRunner(dataDir: string): (args: string[]) => Promise<string> {
  return async (args) => {
    let out = ''
    let err = ''
    const sink = (f: (s: string) => void) => ({ write: (s: string) => (f(s), true), isTTY: false })
    const code = await runCli(args, {
      stdout: sink((s) => (out += s)) as unknown as NodeJS.WriteStream,
      stderr: sink((s) => (err += s)) as unknown as NodeJS.WriteStream,
      dataDir
    })
    if (code !== 0) throw new Error(`transfer-studio ${args.join(' ')} failed (${code}): ${err}`)
    return out
  }
}
