// TF.js's "Hi, looks like you are running TensorFlow.js in Node.js" banner (issue 14 item 9): the studio
// picks its backend on purpose and says so in one line, so a CLI process training on the cpu backend (the
// one that prints the banner) must not show it on stderr. Runs the built CLI (`npm test` builds first) as
// a real process on real GTSRB images.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

const run = promisify(execFile)
const BIN = resolve(__dirname, '../../../bin/transfer-studio.js')
const BUILT = resolve(__dirname, '../../../out/main/cli.js')

describe.skipIf(!sharedDataAvailable())('the CLI and the TF.js banner', () => {
  let tmp: ReturnType<typeof tempDir>
  let project: string
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, TRANSFER_STUDIO_DATA_DIR: join(tmp.dir, 'data') })
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [BIN, ...args], { env: { ...env(), ...extra }, timeout: 120_000 })

  beforeAll(async () => {
    expect(existsSync(BUILT), 'out/main/cli.js is missing: run `npm run build`').toBe(true)
    tmp = tempDir('ts-banner-')
    const images = join(tmp.dir, 'img')
    for (const c of ['1', '14']) {
      mkdirSync(join(images, c), { recursive: true })
      const source = join(SHARED_DATA, 'gtsrb-train', c)
      for (const f of readdirSync(source).sort().slice(0, 8))
        copyFileSync(join(source, f), join(images, c, f))
    }
    project = join(tmp.dir, 'p.tsproj')
    await cli(['import', images, '--project', project, '--json'])
    await cli(['split', '--project', project, '--val', '0.25', '--test', '0', '--json'])
  }, 120_000)
  afterAll(() => tmp?.remove())

  it('trains on the cpu backend without the banner, saying which backend runs', async () => {
    const r = await cli(
      [
        'train',
        '--project',
        project,
        '--strategy',
        'custom',
        '--epochs',
        '1',
        '--width',
        '0.25',
        '--fc-units',
        '16',
        '--json'
      ],
      { TS_BACKEND: 'cpu' }
    )
    expect(JSON.parse(r.stdout).backend).toBe('cpu')
    expect(r.stderr).not.toMatch(/looks like you are running TensorFlow\.js/)
    expect(r.stderr).not.toMatch(/={10,}/)
  }, 120_000)
})
