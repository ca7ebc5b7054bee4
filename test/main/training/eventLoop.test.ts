// The backend's event loop stays free (issue 11): while a studio operation runs — checking a full-size
// (244 MB) BVLC base, estimating an AlexNet run, predicting with a trained run, exporting it — library
// queries from another client keep being answered. Each operation runs on a real backend (createBackend on
// a temporary project with real GTSRB images) while a loop issues `library:query` and
// perf_hooks.monitorEventLoopDelay samples the loop; the worst lag must stay under a generous bound (the goal
// is 50 ms). Not a speed test: a blocked loop shows as lag however fast the machine is. With the trained run
// at hand, it also checks the inference worker's life (kept between calls, restarted after it dies, ended
// by dispose) and a run chosen as a base by its id.
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../../src/main/backend'
import { forkRunner } from '../../../src/main/training/trainingService'
import { SHARED_DATA, linkEveryNthFrame, sharedDataAvailable, tempDir } from '../../helpers'
import { baseConfig, smallAlexConfig } from '../ml/train/trainerFixtures'
import { writeBvlcFile } from '../ml/weights/bvlcWriter'

/** The worst lag allowed (ms): far above the 50 ms goal, far below what parsing 244 MB on the loop costs. */
const BOUND_MS = 150
const CLASSES = [1, 14, 38]
const run = sharedDataAvailable() ? describe : describe.skip
const SRC = resolve(__dirname, '../../../src/main')

interface Lag {
  /** Worst extra wait of a library:query issued every 5 ms (ms). */
  query: number
  /** Worst event-loop delay seen by monitorEventLoopDelay (ms). */
  loop: number
  queries: number
}

/** Runs `op` while a second client queries the library; returns the worst lag seen. */
async function lagDuring<T>(b: Backend, op: () => Promise<T>): Promise<{ lag: Lag; result: T }> {
  const monitor = monitorEventLoopDelay({ resolution: 5 })
  let done = false
  const waits: number[] = []
  // At least one query, however short the operation.
  const client = (async () => {
    do {
      const t0 = performance.now()
      await new Promise((r) => setTimeout(r, 5))
      await b.handlers['library:query']({
        filter: {},
        sort: { key: 'fileName', descending: false },
        offset: 0,
        limit: 50
      })
      waits.push(performance.now() - t0 - 5)
    } while (!done)
  })()
  monitor.enable()
  try {
    const result = await op()
    // A block shows only once the loop turns again: let the query in flight and one more sample land.
    done = true
    await client
    await new Promise((r) => setTimeout(r, 20))
    return {
      result,
      lag: { query: Math.max(0, ...waits), loop: monitor.max / 1e6, queries: waits.length }
    }
  } finally {
    done = true
    monitor.disable()
  }
}

run('the backend event loop stays free during studio operations', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  let runId = 0
  let bigFile = ''
  const lags: Record<string, Lag> = {}
  const check = (name: string, lag: Lag): void => {
    lags[name] = lag
    console.log(
      `${name}: worst library:query wait ${lag.query.toFixed(1)} ms over ${lag.queries} queries, ` +
        `worst loop delay ${lag.loop.toFixed(1)} ms`
    )
    expect(lag.queries).toBeGreaterThan(0)
    expect(lag.query, `${name}: library:query wait`).toBeLessThan(BOUND_MS)
    expect(lag.loop, `${name}: event-loop delay`).toBeLessThan(BOUND_MS)
  }

  beforeAll(async () => {
    tmp = tempDir()
    const src = linkEveryNthFrame(join(tmp.dir, 'signs'), CLASSES, 7)
    b = createBackend({
      dataDir: join(tmp.dir, 'data'),
      projectPath: join(tmp.dir, 'signs.tsproj'),
      runner: forkRunner({
        entry: join(SRC, 'ml/worker/trainWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      }),
      inferenceWorker: {
        entry: join(SRC, 'ml/worker/inferenceWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      }
    })
    await b.handlers['library:import']({ folder: src, labels: 'folders' })
    await b.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 3 })
    const done = new Promise<string>((ok) =>
      b.on('training-progress', (e) => {
        if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') ok(e.type)
      })
    )
    runId = (await b.handlers['training:start']({ config: baseConfig({ epochs: 1 }) })).runId
    expect(await done).toBe('completed')
    bigFile = join(tmp.dir, 'bvlc-alexnet.npy')
    writeBvlcFile(bigFile)
  })
  afterAll(async () => {
    console.log(`worst lag per operation (ms): ${JSON.stringify(lags)}`)
    await b?.dispose()
    tmp?.remove()
  })

  it('while a full-size BVLC base is checked', async () => {
    const { lag, result } = await lagDuring(b, () =>
      b.handlers['training:validateBase']({ base: { kind: 'bvlc-npy', path: bigFile } })
    )
    expect(result.ok).toBe(true)
    expect(result.message).toMatch(/full BVLC AlexNet/)
    check('validateBase (244 MB BVLC)', lag)
  })

  it('while an AlexNet run is estimated', async () => {
    const { lag, result } = await lagDuring(b, () =>
      b.handlers['training:estimate']({ config: smallAlexConfig({ epochs: 2 }) })
    )
    expect(result.seconds).toBeGreaterThan(0)
    check('estimate (AlexNet)', lag)
  })

  it('while a trained run predicts (first call loads the model)', async () => {
    const dir = join(SHARED_DATA, 'gtsrb-test', String(CLASSES[0]))
    const files = readdirSync(dir)
      .sort()
      .slice(0, 96)
      .map((f) => ({ path: join(dir, f) }))
    const { lag, result } = await lagDuring(b, () => b.handlers['training:predict']({ runId, files, top: 2 }))
    expect(result).toHaveLength(files.length)
    expect(result.every((p) => p.top.length === 2)).toBe(true)
    // Decoding and inference ran in the inference worker, not in this process.
    expect(b.services.prediction.workerPid()).toBeGreaterThan(0)
    check('predict (96 images, first call)', lag)
  })

  it('keeps the inference worker between predictions, restarts it after it dies, ends it on dispose', async () => {
    const dir = join(SHARED_DATA, 'gtsrb-test', String(CLASSES[1]))
    const files = readdirSync(dir)
      .sort()
      .slice(0, 3)
      .map((f) => ({ path: join(dir, f) }))
    const prediction = b.services.prediction
    const first = await b.handlers['training:predict']({ runId, files, top: 1 })
    const pid = prediction.workerPid()
    expect(pid).toBeGreaterThan(0)
    expect(pid).not.toBe(process.pid)
    expect(await b.handlers['training:predict']({ runId, files, top: 1 })).toEqual(first)
    expect(prediction.workerPid()).toBe(pid)
    // A worker that dies fails what it was doing, and the next call gets a fresh one.
    const inFlight = b.handlers['training:predict']({ runId, files, top: 1 })
    process.kill(pid as number, 'SIGKILL')
    await expect(inFlight).rejects.toThrow(/inference process stopped/)
    expect(await b.handlers['training:predict']({ runId, files, top: 1 })).toEqual(first)
    const second = prediction.workerPid() as number
    expect(second).not.toBe(pid)
    await prediction.dispose()
    await new Promise((r) => setTimeout(r, 200))
    expect(() => process.kill(second, 0)).toThrow()
    expect(prediction.workerPid()).toBeNull()
  })

  it('checks a run of this project as a base by its id, and refuses a compact CNN for transfer', async () => {
    const check = await b.services.baseCheck.validateBase({ kind: 'run', runId })
    expect(check.ok).toBe(false)
    expect(check.message).toMatch(/compact CNN .* 3 classes.*start from an AlexNet's fc7/)
  })

  it('while a trained run is exported', async () => {
    const outDir = join(tmp.dir, 'export')
    const { lag, result } = await lagDuring(b, () => b.handlers['training:export']({ runId, outDir }))
    expect(result.files).toContain('model.json')
    check('export', lag)
  })
})
