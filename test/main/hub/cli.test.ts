// `transfer-studio models ...` in-process (runCli with captured streams), against a loopback HTTP server,
// with the catalogue and cache in a temporary folder (TS_MODEL_CATALOGUE, TS_MODEL_DIR).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../../../src/main/cli'
import { tempDir } from '../../helpers'
import {
  entry,
  filesUnder,
  modelBytes,
  serveFile,
  startServer,
  until,
  writeCatalogue,
  type TestServer
} from './fixtures'

function capture(isTTY = false): { write(text: string): void; isTTY: boolean; text: () => string } {
  let out = ''
  return { write: (t: string) => void (out += t), isTTY, text: () => out }
}

describe('transfer-studio models', () => {
  let tmp: ReturnType<typeof tempDir>
  let server: TestServer
  let cache: string
  const model = modelBytes(512 * 1024)
  let slowTimers: NodeJS.Timeout[] = []

  beforeEach(async () => {
    tmp = tempDir('ts-models-cli-')
    cache = join(tmp.dir, 'cache')
    server = await startServer((req, res) => {
      if (req.url === '/slow.pth') {
        res.writeHead(200, { 'content-length': model.data.length })
        let at = 0
        const tick = (): void => {
          if (res.destroyed) return
          res.write(model.data.subarray(at, (at += 1024)))
          slowTimers.push(setTimeout(tick, 50))
        }
        tick()
      } else serveFile(res, req, model.data)
    })
    const entries = [
      entry({
        id: 'tiny',
        url: `${server.origin}/models/tiny-${model.prefix}.pth`,
        bytes: model.data.length,
        sha256: model.sha256
      }),
      entry({ id: 'slow', url: `${server.origin}/slow.pth`, bytes: model.data.length, sha256: model.sha256 })
    ]
    vi.stubEnv('TS_MODEL_CATALOGUE', writeCatalogue(tmp.dir, entries))
    vi.stubEnv('TS_MODEL_DIR', cache)
  })
  afterEach(async () => {
    slowTimers.forEach(clearTimeout)
    slowTimers = []
    vi.unstubAllEnvs()
    await server.close()
    tmp.remove()
  })

  async function cli(
    argv: string[],
    opts: { tty?: boolean; signal?: AbortSignal } = {}
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = capture()
    const stderr = capture(opts.tty)
    const code = await runCli(argv, { stdout, stderr, dataDir: join(tmp.dir, 'data'), signal: opts.signal })
    return { code, stdout: stdout.text(), stderr: stderr.text() }
  }

  it('lists the catalogue as JSON, then downloads a model and lists it as downloaded', async () => {
    const before = await cli(['models', 'list', '--json'])
    expect(before.stderr).toBe('')
    expect(before.code).toBe(0)
    const tinyPath = join(cache, 'tiny', `tiny-${model.prefix}.pth`)
    expect(JSON.parse(before.stdout)).toEqual({
      models: [
        {
          id: 'tiny',
          name: 'Test model tiny',
          architecture: 'tinynet',
          bytes: model.data.length,
          downloaded: false,
          path: tinyPath
        },
        expect.objectContaining({ id: 'slow', downloaded: false })
      ]
    })

    const got = await cli(['models', 'download', 'tiny', '--json'], { tty: true })
    expect(got.code).toBe(0)
    expect(JSON.parse(got.stdout)).toMatchObject({
      id: 'tiny',
      path: tinyPath,
      bytes: model.data.length,
      sha256: model.sha256,
      checks: ['size', 'sha256', 'hash-prefix'],
      already_present: false
    })
    expect(got.stderr).toMatch(/downloading tiny {2}0\.5 MB \/ 0\.5 MB/)
    expect(readFileSync(tinyPath).equals(model.data)).toBe(true)

    const after = JSON.parse((await cli(['models', 'list', '--json'])).stdout)
    expect(after.models[0]).toMatchObject({ id: 'tiny', downloaded: true })
    const text = await cli(['models', 'list'])
    expect(text.stdout).toContain(`Model cache: ${cache}`)
    expect(text.stdout).toMatch(/tiny\s+tinynet\s+0\.5 MB\s+downloaded/)

    const again = await cli(['models', 'download', 'tiny'])
    expect(again.stdout).toContain(`tiny is already in the cache: ${tinyPath}`)
    expect((await cli(['models', 'remove', 'tiny'])).stdout).toContain('Removed tiny from the cache')
    expect(existsSync(tinyPath)).toBe(false)
  })

  it('imports a local file for an architecture', async () => {
    const file = join(tmp.dir, 'downloaded-elsewhere.pth')
    writeFileSync(file, model.data)
    const r = await cli(['models', 'import', file, '--architecture', 'tinynet', '--id', 'tiny', '--json'])
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'tiny', sha256: model.sha256 })
    const noArch = await cli(['models', 'import', file])
    expect(noArch.code).toBe(1)
    expect(noArch.stderr).toMatch(/--architecture/)
  })

  it('cancels a download on interrupt (exit 130) and keeps nothing', async () => {
    const controller = new AbortController()
    const running = cli(['models', 'download', 'slow'], { signal: controller.signal })
    await until(() => server.requests.length > 0)
    await new Promise((r) => setTimeout(r, 100))
    controller.abort()
    const r = await running
    expect(r.code).toBe(130)
    expect(r.stderr).toContain('download of slow cancelled; nothing was kept')
    expect(filesUnder(cache)).toEqual([])
  })

  it('reports unknown models and bad catalogues with exit code 1', async () => {
    const unknown = await cli(['models', 'download', 'nope'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe('error: no model "nope" in the catalogue (known: tiny, slow)\n')

    const bad = join(tmp.dir, 'bad.json')
    writeFileSync(bad, JSON.stringify([{ id: 'x', bytes: 'big' }]))
    vi.stubEnv('TS_MODEL_CATALOGUE', bad)
    const r = await cli(['models', 'list', '--json'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      /^error: model catalogue .*bad\.json \(TS_MODEL_CATALOGUE\): entry 1 \("x"\) name: /
    )
  })
})
