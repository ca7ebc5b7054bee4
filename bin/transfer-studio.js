#!/usr/bin/env node
// The `transfer-studio` command: a CommonJS shim that loads the CLI built by electron-vite (out/main/cli.js).
'use strict'
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const cli = join(__dirname, '..', 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write(
    `transfer-studio: the CLI is not built (${cli} is missing).\n` +
      'Run `npm run build` in the Transfer Studio folder first.\n'
  )
  process.exit(1)
}
require(cli)
  .main()
  .catch((error) => {
    process.stderr.write(`transfer-studio: ${error && error.stack ? error.stack : error}\n`)
    process.exitCode = 2
  })
