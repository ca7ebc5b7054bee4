// The CLI run in-process by the bench scripts, as a user would run `transfer-studio ...`.
import { resolve } from 'node:path'
import { runCli } from '../../src/main/cli'

/** The gradient worker from source: the app and the built CLI run gradWorker.js beside them. */
export const GRAD_WORKER = {
  file: resolve(__dirname, '../../src/main/ml/train/gradWorker.ts'),
  execArgv: ['--import', 'jiti/register']
}

/** A runner of CLI commands with `dataDir` as the app's data folder: returns stdout, throws with stderr. */
export function cliRunner(dataDir: string): (args: string[]) => Promise<string> {
  return async (args) => {
    let out = ''
    let err = ''
    const sink = (f: (s: string) => void) => ({ write: (s: string) => (f(s), true), isTTY: false })
    const code = await runCli(args, {
      stdout: sink((s) => (out += s)) as unknown as NodeJS.WriteStream,
      stderr: sink((s) => (err += s)) as unknown as NodeJS.WriteStream,
      dataDir,
      // `train` splits each batch over the gradient workers as the built CLI does (its .ts, with jiti).
      gradWorker: GRAD_WORKER
    })
    if (code !== 0) throw new Error(`transfer-studio ${args.join(' ')} failed (${code}): ${err}`)
    return out
  }
}

/**
 * `transfer-studio import` of a GTSRB folder (labels from its CSV, cropped to the regions of interest) into a
 * new project, then `split` off `val` of it by track (no test split); returns both commands' JSON.
 */
export async function importAndSplit(
  cli: (args: string[]) => Promise<string>,
  opts: { folder: string; project: string; names: string; annotations: string; val: number; seed?: number }
): Promise<{ imported: { imported: number }; split: { train: number; val: number } }> {
  const imported = JSON.parse(
    await cli([
      'import',
      opts.folder,
      '--project',
      opts.project,
      '--names',
      opts.names,
      '--labels',
      'gtsrb-csv',
      '--annotations',
      opts.annotations,
      '--crop-roi',
      '--json'
    ])
  )
  const seed = opts.seed === undefined ? [] : ['--seed', String(opts.seed)]
  const split = JSON.parse(
    await cli([
      'split',
      '--project',
      opts.project,
      '--val',
      String(opts.val),
      '--test',
      '0',
      '--group-by',
      'track',
      ...seed,
      '--json'
    ])
  )
  return { imported, split }
}
