// A real `transfer-studio` process for the run-ownership tests: runs one CLI command line from the source
// (through jiti), with its own data folder. Usage: node jiti-cli.mjs runsCliChild.ts <dataDir> <argv...>
import { runCli } from '../../../src/main/cli'

const [dataDir, ...argv] = process.argv.slice(2)
runCli(argv, { dataDir }).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`)
    process.exitCode = 2
  }
)
