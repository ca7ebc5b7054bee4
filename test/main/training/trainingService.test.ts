// TrainingService on a real project: import GTSRB signs, split by track, train (in process, and once in the
// real forked worker), stream events, record curves and metrics in SQLite, cancel, evaluate on the test split
// with per-image predictions (the "disagrees with label" filter), and export.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TrainingEvent } from '../../../src/shared/training'
import { createBackend, type Backend } from '../../../src/main/backend'
import { TrainingService, forkRunner, inProcessRunner } from '../../../src/main/training/trainingService'
import { openDatabase } from '../../../src/main/db/database'
import { trainThreads } from '../../../src/main/ml/train/threads'
import { initBackend } from '../../../src/main/ml/tfjs/backend'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'
import { baseConfig } from '../ml/train/trainerFixtures'

const run = sharedDataAvailable() ? describe : describe.skip
const CLASSES = [14, 17, 38]

run('TrainingService', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let service: TrainingService
  let projectPath: string
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    // 80 images per class: enough for the compact CNN to learn three signs in a few epochs.
    const src = join(tmp.dir, 'signs')
    for (const c of CLASSES) {
      mkdirSync(join(src, String(c)), { recursive: true })
      const dir = join(SHARED_DATA, 'gtsrb-train', String(c))
      for (const f of readdirSync(dir).sort().slice(0, 80)) symlinkSync(join(dir, f), join(src, String(c), f))
    }
    projectPath = join(tmp.dir, 'signs.tsproj')
    backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath })
    await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 1 })
    service = new TrainingService(backend.services.projects, { runner: inProcessRunner() })
  })
  afterAll(async () => {
    await service?.dispose()
    await backend?.dispose()
    tmp.remove()
  })

  let runId = 0
  it('trains a run, streams events and records settings, curves and metrics', async () => {
    const events: TrainingEvent[] = []
    const off = service.onEvent((e) => events.push(e))
    const config = baseConfig({ epochs: 8 })
    runId = (await service.start(config)).runId
    expect(service.running).toBe(runId)
    await expect(service.start(config)).rejects.toThrow(/still training/)
    const final = await service.wait(runId)
    off()
    expect(final.status).toBe('completed')
    expect(final.config).toEqual(config)
    expect(final.backend).toBe('wasm')
    // The threads of the 'started' event are stored with the run, so a reloaded run still shows them.
    const started = events.find((e) => e.type === 'started')
    expect(started?.type === 'started' && started.threads).toBeGreaterThanOrEqual(1)
    expect(final.threads).toBe(started?.type === 'started' ? started.threads : -1)
    expect(final.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(final.valAccuracy).not.toBeNull()
    expect(final.seconds).toBeGreaterThan(0)
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(8)
    expect(events.every((e) => e.runId === runId)).toBe(true)
    expect(events.at(-1)!.type).toBe('completed')
    expect(service.list().map((r) => r.id)).toContain(runId)
    expect(service.running).toBeNull()
  })

  it('evaluates on the test split and stores one prediction per image', async () => {
    // The service announces what the evaluation changed in the library (the per-image predictions).
    const changed: string[] = []
    const off = service.onLibraryChanged((reason) => changed.push(reason))
    const result = await service.evaluate(runId)
    off()
    expect(changed).toEqual(['predictions'])
    const stats = await backend.handlers['library:stats']({})
    expect(result.images).toBe(stats.splits.test)
    console.log(`service run: test accuracy ${result.accuracy.toFixed(3)} on ${result.images} images`)
    expect(result.accuracy).toBeGreaterThan(2 / CLASSES.length)
    expect(service.get(runId).testAccuracy).toBe(result.accuracy)
    expect(service.evaluation(runId)).toEqual(result)
    // The library can filter by "prediction disagrees with label" for this run.
    const wrong = await backend.handlers['library:query']({
      filter: { disagreesWithRun: runId },
      offset: 0,
      limit: 1000
    })
    expect(wrong.total).toBe(result.misclassified.length)
    const page = await backend.handlers['library:query']({
      filter: { split: 'test' },
      runId,
      offset: 0,
      limit: 1000
    })
    expect(page.items.every((i) => i.predictedClassId !== null && i.confidence! > 0)).toBe(true)
  })

  it('exports a run to a new folder and refuses a non-empty one', async () => {
    const out = join(tmp.dir, 'export')
    const r = await service.exportRun(runId, out)
    expect(r.files).toEqual(
      expect.arrayContaining(['README.md', 'labels.json', 'metadata.json', 'model.json', 'weights.bin'])
    )
    const busy = join(tmp.dir, 'busy')
    mkdirSync(busy)
    writeFileSync(join(busy, 'keep.txt'), 'mine')
    await expect(service.exportRun(runId, busy)).rejects.toThrow(/not empty/)
    expect(readdirSync(busy)).toEqual(['keep.txt'])
  })

  it('cancels a run within a batch and records it as cancelled', async () => {
    const events: TrainingEvent[] = []
    const off = service.onEvent((e) => {
      events.push(e)
      if (e.type === 'batch' && e.batch === 2) service.cancel(e.runId)
    })
    const { runId: id } = await service.start(baseConfig({ epochs: 3, batchSize: 8 }))
    const final = await service.wait(id)
    off()
    expect(final.status).toBe('cancelled')
    expect(events.at(-1)).toMatchObject({ type: 'cancelled', runId: id })
    expect(events.filter((e) => e.type === 'batch')).toHaveLength(2)
    await expect(service.evaluate(id)).rejects.toThrow(/no trained model/)
  })

  it('resumes a cancelled run from its last checkpoint', async () => {
    const off = service.onEvent((e) => e.type === 'epoch' && e.epoch === 1 && service.cancel(e.runId))
    const { runId: id } = await service.start(baseConfig({ epochs: 3 }))
    const stopped = await service.wait(id)
    off()
    expect(stopped.status).toBe('cancelled')
    expect(stopped.history.map((h) => h.epoch)).toEqual([1])
    const epochs: number[] = []
    const off2 = service.onEvent((e) => e.type === 'epoch' && epochs.push(e.epoch))
    expect((await service.resume(id)).runId).toBe(id)
    const final = await service.wait(id)
    off2()
    expect(final.status).toBe('completed')
    expect(epochs).toEqual([2, 3])
    expect(final.history.map((h) => h.epoch)).toEqual([1, 2, 3])
    await expect(service.resume(id)).rejects.toThrow(/has completed/)
  })

  it('a run that fails is recorded with its error', async () => {
    const events: TrainingEvent[] = []
    const off = service.onEvent((e) => events.push(e))
    const { runId: id } = await service.start(baseConfig({ learningRate: -1 }))
    const final = await service.wait(id)
    off()
    expect(events.filter((e) => e.type === 'failed')).toEqual([
      {
        type: 'failed',
        runId: id,
        error: { name: 'Error', message: expect.stringMatching(/learning rate/) },
        seq: expect.any(Number)
      }
    ])
    expect(final.status).toBe('failed')
    expect(final.error).toMatch(/learning rate/)
  })

  it('stores the image counts on the run and resolves a run base to its model folder', async () => {
    const first = service.get(runId)
    const train = backend.services.projects.require().repo.trainingImages({ split: 'train' }).length
    expect(first.trainImages).toBe(train)
    expect(first.valImages).toBeGreaterThan(0)
    expect(first.hasModel).toBe(true)
    const fineTune = (base: { kind: 'run'; runId: number }) =>
      ({ ...baseConfig({ epochs: 1 }), strategy: 'fine-tune', base }) as const
    // A run that is not completed, or not in the project, is refused before anything starts.
    const failed = service.list().find((r) => r.status === 'failed')!
    await expect(service.start(fineTune({ kind: 'run', runId: failed.id }))).rejects.toThrow(
      new RegExp(`run ${failed.id} has not completed \\(status: failed\\)`)
    )
    await expect(service.start(fineTune({ kind: 'run', runId: 9999 }))).rejects.toThrow(
      /base run 9999 not found/
    )
    // A completed run is resolved to its model folder: the engine loads it (and refuses a compact CNN as an
    // AlexNet base, naming the folder), while the run keeps the base as chosen.
    const { runId: id } = await service.start(fineTune({ kind: 'run', runId }))
    const final = await service.wait(id)
    expect(final.config.base).toEqual({ kind: 'run', runId })
    expect(final.status).toBe('failed')
    expect(final.error).toContain(join(first.runDir!, 'model'))
  })

  it('runs the real training worker in a child process', async () => {
    const worker = new TrainingService(backend.services.projects, {
      runner: forkRunner({
        entry: resolve(__dirname, '../../../src/main/ml/worker/trainWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      }),
      // The job carries the gradient worker's entry into the child (data-parallel on wasm with 2+ cores).
      gradWorker: {
        file: resolve(__dirname, '../../../src/main/ml/train/gradWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      }
    })
    const events: TrainingEvent[] = []
    worker.onEvent((e) => events.push(e))
    const { runId: id } = await worker.start(baseConfig({ epochs: 1 }))
    const final = await worker.wait(id)
    expect(final.status).toBe('completed')
    expect(final.history).toHaveLength(1)
    expect(events.find((e) => e.type === 'started')).toMatchObject({
      runId: id,
      backend: 'wasm',
      threads: trainThreads('wasm')
    })
    expect(existsSync(join(final.runDir!, 'model', 'model.json'))).toBe(true)
    // A completed run keeps its model and curves, not its resumable weight snapshots.
    expect(existsSync(join(final.runDir!, 'checkpoint'))).toBe(false)
    expect(existsSync(join(final.runDir!, 'checkpoint.json'))).toBe(true)
    // Cancelling crosses the process boundary too.
    const off = worker.onEvent((e) => e.type === 'batch' && worker.cancel(e.runId))
    const { runId: id2 } = await worker.start(baseConfig({ epochs: 2 }))
    const cancelled = await worker.wait(id2)
    off()
    expect(cancelled.status).toBe('cancelled')
    // The cancel message may reach the child while it trains the next batch: within one batch, not zero.
    expect(events.filter((e) => e.runId === id2 && e.type === 'batch').length).toBeLessThanOrEqual(2)
    expect(events.at(-1)).toMatchObject({ type: 'cancelled', runId: id2 })
  })

  it('a training worker killed mid-run fails the run once, with a clear message, and the next run starts', async () => {
    const worker = new TrainingService(backend.services.projects, {
      runner: forkRunner({
        entry: resolve(__dirname, '../../../src/main/ml/worker/trainWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      })
    })
    const events: TrainingEvent[] = []
    let killed: number | null = null
    worker.onEvent((e) => {
      events.push(e)
      if (e.type === 'batch' && killed === null) {
        // The forked child of this process that runs trainWorker: killed the way a crash or the OOM killer would.
        const child = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {
          encoding: 'utf8'
        })
          .split('\n')
          .find((l) => l.includes('trainWorker'))
        killed = Number(child!.trim().split(/\s+/)[0])
        process.kill(killed, 'SIGKILL')
      }
    })
    const { runId: id } = await worker.start(baseConfig({ epochs: 3 }))
    const final = await worker.wait(id)
    expect(killed).toBeGreaterThan(0)
    expect(final.status).toBe('failed')
    expect(final.error).toBe('the training process stopped unexpectedly (SIGKILL)')
    expect(events.filter((e) => e.type === 'failed')).toEqual([
      {
        type: 'failed',
        runId: id,
        // Coded, so the UI words it in its language (src/shared/messages).
        error: {
          name: 'Error',
          message: final.error,
          code: 'training.processStopped',
          params: { reason: 'SIGKILL' }
        },
        seq: expect.any(Number)
      }
    ])
    expect(events.some((e) => e.type === 'completed' || e.type === 'cancelled')).toBe(false)
    expect(worker.running).toBeNull()
    // The service is free again: the next run starts and completes in a fresh worker.
    const { runId: next } = await worker.start(baseConfig({ epochs: 1 }))
    expect((await worker.wait(next)).status).toBe('completed')
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(1)
  })

  it('the runs schema is a migration: the project reopens at the current version', () => {
    const db = openDatabase(projectPath)
    const cols = (db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name)
    expect(cols).toEqual(expect.arrayContaining(['backend', 'run_dir', 'evaluation_json']))
    expect((db.prepare('SELECT COUNT(*) AS n FROM run_epochs').get() as { n: number }).n).toBeGreaterThan(0)
    db.close()
  })
})
