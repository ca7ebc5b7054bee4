// The command line in-process (runCli with captured streams) on a temporary project with real GTSRB images,
// plus the built bin once through child_process when out/ exists.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import WebSocket from 'ws'
import { runCli } from '../../../src/main/cli'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

const CLASSES = ['1', '14', '33']
const PER_CLASS = 4

/** Captures what a command writes. */
function capture(isTTY = false): { write(text: string): void; isTTY: boolean; text: () => string } {
  let out = ''
  return { write: (t: string) => void (out += t), isTTY, text: () => out }
}

describe.skipIf(!sharedDataAvailable())('transfer-studio CLI', () => {
  let tmp: ReturnType<typeof tempDir>
  let images: string
  let project: string

  /** Run one command line; returns the exit code and both streams. */
  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = capture()
    const stderr = capture()
    const code = await runCli(argv, { stdout, stderr, dataDir: join(tmp.dir, 'data') })
    return { code, stdout: stdout.text(), stderr: stderr.text() }
  }

  beforeEach(() => {
    tmp = tempDir()
    images = join(tmp.dir, 'signs')
    project = join(tmp.dir, 'projects', 'Signs.tsproj')
    mkdirSync(join(tmp.dir, 'projects'))
    for (const cls of CLASSES) {
      mkdirSync(join(images, cls), { recursive: true })
      const source = join(SHARED_DATA, 'gtsrb-train', cls)
      for (const f of readdirSync(source).slice(0, PER_CLASS))
        copyFileSync(join(source, f), join(images, cls, f))
    }
  })
  afterEach(() => tmp.remove())

  it('imports a folder into a new project and reports JSON', async () => {
    expect(existsSync(project)).toBe(false)
    writeFileSync(join(images, '14', 'broken.ppm'), 'P6\n32 32\n255\nshort')
    const names = join(tmp.dir, 'names.csv')
    writeFileSync(names, 'ClassId,SignName\n1,Speed limit (30km/h)\n14,Stop\n33,Turn right ahead\n')
    const r = await cli('import', images, '--project', project, '--names', names, '--json')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(existsSync(project)).toBe(true)
    const out = JSON.parse(r.stdout)
    expect(out.imported).toBe(CLASSES.length * PER_CLASS)
    expect(out.skipped_duplicates).toBe(0)
    expect(out.moved).toBe(0)
    expect(out.failed).toHaveLength(1)
    expect(out.failed[0].path).toBe(join(images, '14', 'broken.ppm'))
    expect(out.failed[0].reason).toMatch(/\w+/)
    expect(typeof out.seconds).toBe('number')
    const byKey = Object.fromEntries(out.classes.map((c: { key: string }) => [c.key, c]))
    expect(Object.keys(byKey).sort()).toEqual([...CLASSES].sort())
    expect(byKey['14']).toMatchObject({ name: 'Stop', count: PER_CLASS })
    expect(Object.keys(byKey['14']).sort()).toEqual(['count', 'id', 'key', 'name'])

    const again = await cli('import', images, '--project', project, '--json')
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({
      imported: 0,
      skipped_duplicates: CLASSES.length * PER_CLASS
    })
  })

  it('prints a readable summary without --json and progress only on a TTY', async () => {
    const stdout = capture()
    const stderr = capture(true)
    const code = await runCli(['import', images, '-p', project], {
      stdout,
      stderr,
      dataDir: join(tmp.dir, 'd')
    })
    expect(code).toBe(0)
    expect(stdout.text()).toMatch(new RegExp(`Imported ${CLASSES.length * PER_CLASS} images`))
    expect(() => JSON.parse(stdout.text())).toThrow()
    expect(stderr.text()).toMatch(/\d+\/\d+/)
  })

  it('reports project info as JSON', async () => {
    expect((await cli('import', images, '--project', project, '--json')).code).toBe(0)
    const r = await cli('info', '--project', project, '--json')
    expect(r.code).toBe(0)
    const info = JSON.parse(r.stdout)
    expect(info).toMatchObject({
      images: CLASSES.length * PER_CLASS,
      labelled: CLASSES.length * PER_CLASS,
      splits: { train: 0, val: 0, test: 0, none: CLASSES.length * PER_CLASS }
    })
    expect(info.classes.map((c: { count: number }) => c.count)).toEqual(CLASSES.map(() => PER_CLASS))
    const text = await cli('info', '--project', project)
    expect(text.stdout).toContain(`images: ${CLASSES.length * PER_CLASS}`)
  })

  it('splits by track with a seed, deterministically, and info sees the splits', async () => {
    expect((await cli('import', images, '--project', project, '--json')).code).toBe(0)
    const args = ['split', '--project', project, '--val', '0.25', '--test', '0.25', '--seed', '7', '--json']
    const first = await cli(...args)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    const s = JSON.parse(first.stdout)
    expect(s.train + s.val + s.test).toBe(CLASSES.length * PER_CLASS)
    expect(s.perClass).toHaveLength(CLASSES.length)
    expect(s).toMatchObject({ seed: 7, group_by: 'track', val_ratio: 0.25, test_ratio: 0.25 })
    const second = JSON.parse((await cli(...args)).stdout)
    expect(second.perClass).toEqual(s.perClass)
    const info = JSON.parse((await cli('info', '--project', project, '--json')).stdout)
    expect(info.splits).toEqual({ train: s.train, val: s.val, test: s.test, none: 0 })
  })

  it('fails with exit code 1 and a clear message for user errors', async () => {
    const missing = await cli('import', join(tmp.dir, 'nope'), '--project', project, '--json')
    expect(missing.code).toBe(1)
    expect(missing.stdout).toBe('')
    expect(missing.stderr).toContain(`not a folder: ${join(tmp.dir, 'nope')}`)
    expect(existsSync(project)).toBe(false)

    const noProject = await cli('info', '--project', join(tmp.dir, 'absent.tsproj'))
    expect(noProject.code).toBe(1)
    expect(noProject.stderr).toMatch(/project file not found/)

    expect((await cli('import', images, '--project', project, '--json')).code).toBe(0)
    const badRatio = await cli('split', '--project', project, '--val', '0.6', '--test', '0.5')
    expect(badRatio.code).toBe(1)
    expect(badRatio.stderr).toMatch(/below 1/)
    const badLabels = await cli('import', images, '--project', project, '--labels', 'xml')
    expect(badLabels.code).toBe(1)
    expect(badLabels.stderr).toMatch(/folders, gtsrb-csv, none/)
    const unknown = await cli('frobnicate')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/unknown command/)
  })

  it('cancels an interrupted import, keeps what was committed and exits with 130', async () => {
    // 3,000 files: on a quiet machine the importer does ~4,500 files/s, so the first progress line (after
    // 100 ms) must come well before the end for the interruption to land mid-import.
    const big = join(tmp.dir, 'big')
    let total = 0
    for (let cls = 0; cls < 20; cls++) {
      mkdirSync(join(big, String(cls)), { recursive: true })
      const source = join(SHARED_DATA, 'gtsrb-train', String(cls))
      for (const f of readdirSync(source)) {
        copyFileSync(join(source, f), join(big, String(cls), f))
        total++
      }
    }
    const abort = new AbortController()
    const stdout = capture()
    let stderrText = ''
    // Interrupt at the first progress line that shows files done, as a user pressing Ctrl+C would.
    const stderr = {
      isTTY: true,
      write(t: string) {
        stderrText += t
        if (/importing [1-9]\d*\//.test(t)) abort.abort()
      }
    }
    const code = await runCli(['import', big, '--project', project, '--json'], {
      stdout,
      stderr,
      dataDir: join(tmp.dir, 'data'),
      signal: abort.signal
    })
    expect(abort.signal.aborted).toBe(true)
    expect(code).toBe(130)
    expect(stderrText).toMatch(/import cancelled/)
    const out = JSON.parse(stdout.text())
    expect(out.status).toBe('cancelled')
    expect(out.imported).toBeGreaterThan(0)
    expect(out.imported).toBeLessThan(total)
    const info = JSON.parse((await cli('info', '--project', project, '--json')).stdout)
    expect(info.images).toBe(out.imported)
  })

  it('refuses a non-loopback serve host without --allow-remote', async () => {
    const r = await cli('serve', '--project', project, '--host', '0.0.0.0')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/not a loopback address/)
  })

  it('serves the project and prints a tokenised URL that opens the API', async () => {
    expect((await cli('import', images, '--project', project, '--json')).code).toBe(0)
    const stdout = capture()
    const stderr = capture()
    const abort = new AbortController()
    const running = runCli(['serve', '--project', project, '--port', '0'], {
      stdout,
      stderr,
      dataDir: join(tmp.dir, 'data'),
      signal: abort.signal
    })
    let url: URL | undefined
    for (let i = 0; i < 200 && !url; i++) {
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(stdout.text())
      if (m) url = new URL(m[0])
      else await new Promise((r) => setTimeout(r, 25))
    }
    expect(url).toBeDefined()
    const ws = new WebSocket(`ws://${url!.host}/api?token=${url!.searchParams.get('token')}`)
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)))
    const reply = await new Promise<{ ok: boolean; result: { images: number } }>((r) => {
      ws.once('message', (d) => r(JSON.parse(d.toString())))
      ws.send(JSON.stringify({ type: 'invoke', id: 1, channel: 'library:stats', args: {} }))
    })
    expect(reply).toMatchObject({ ok: true, result: { images: CLASSES.length * PER_CLASS } })
    ws.close()
    abort.abort()
    expect(await running).toBe(0)
  })

  const bin = resolve(__dirname, '../../../bin/transfer-studio.js')
  const built = existsSync(resolve(__dirname, '../../../out/main/cli.js'))
  it.skipIf(!built)('runs as the built bin through child_process', () => {
    const env = { ...process.env, TRANSFER_STUDIO_DATA_DIR: join(tmp.dir, 'data') }
    const out = execFileSync(process.execPath, [bin, 'import', images, '--project', project, '--json'], {
      env
    })
    expect(JSON.parse(out.toString())).toMatchObject({ imported: CLASSES.length * PER_CLASS })
    let code = 0
    let stderr = ''
    try {
      execFileSync(process.execPath, [bin, 'info', '--project', join(tmp.dir, 'x.tsproj')], {
        env,
        stdio: 'pipe'
      })
    } catch (error) {
      const e = error as { status: number; stderr: Buffer }
      code = e.status
      stderr = e.stderr.toString()
    }
    expect(code).toBe(1)
    expect(stderr).toMatch(/project file not found/)
  })

  it.skipIf(!built)('trains through the built bin with the gradient workers beside it', () => {
    // Two threads asked for, so that the check holds on a one-core machine too: without the gradient
    // worker built beside cli.js, `train` would run on one.
    const env = {
      ...process.env,
      TRANSFER_STUDIO_DATA_DIR: join(tmp.dir, 'data'),
      TS_TRAIN_THREADS: '2'
    }
    const run = (...args: string[]): string =>
      execFileSync(process.execPath, [bin, ...args], { env, stdio: 'pipe' }).toString()
    run('import', images, '--project', project, '--json')
    run('split', '--project', project, '--val', '0.2', '--test', '0', '--json')
    const j = JSON.parse(
      run(
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
        '--no-augment',
        '--json'
      )
    )
    expect(j).toMatchObject({ backend: 'wasm', threads: 2, epochs: 1 })
  })
})
