// `transfer-studio serve` in a child process of its own (forked by the tests with jiti), so that a crash of
// the server shows as the child's exit instead of taking the test runner with it.
import { runCli } from '../../../src/main/cli'

void runCli(process.argv.slice(2)).then((code) => process.exit(code))
