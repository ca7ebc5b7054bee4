// The whole contract through createBackend on a real project: real GTSRB images (3 classes, ~20 each, split
// by track), a tiny compact-CNN run in the real forked worker (the main loop stays free while it trains),
// progress events, list/get, evaluate with per-image predictions (disagreesWithRun filter, confidence sort),
// prediction on paths and on dropped bytes, export preview and export, the studio channels, and once through
// the real WebSocket server.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventName, Events, ServerMessage } from '../../../src/shared/ipc'
import type { TrainingEvent } from '../../../src/shared/training'
import { createBackend, type Backend, type DialogOpenArgs } from '../../../src/main/backend'
import { forkRunner } from '../../../src/main/training/trainingService'
import { RUN_OVERHEAD_SECONDS } from '../../../src/main/training/estimate'
import { startServer } from '../../../src/main/server'
import { SHARED_DATA, linkEveryNthFrame, sharedDataAvailable, tempDir } from '../../helpers'
import { NPY, baseConfig } from '../ml/train/trainerFixtures'

const CLASSES = [1, 14, 38]
const run = sharedDataAvailable() ? describe : describe.skip
const worker = forkRunner({
  entry: resolve(__dirname, '../../../src/main/ml/worker/trainWorker.ts'),
  execArgv: ['--import', 'jiti/register']
})

/** Every event of `name` the backend emits, until `off()`. */
function record<E extends EventName>(b: Backend, name: E): { events: Events[E][]; off: () => void } {
  const events: Events[E][] = []
  return { events, off: b.on(name, (e) => events.push(e)) }
}

function until<E extends EventName>(
  b: Backend,
  name: E,
  test: (e: Events[E]) => boolean
): Promise<Events[E]> {
  return new Promise((done) => {
    const off = b.on(name, (e) => {
      if (test(e)) {
        off()
        done(e)
      }
    })
  })
}

run('backend: training and studio channels end to end', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  let runId = 0
  const dialogCalls: DialogOpenArgs[] = []
  const testImages = (cls: number, n: number): string[] => {
    const dir = join(SHARED_DATA, 'gtsrb-test', String(cls))
    return readdirSync(dir)
      .sort()
      .slice(0, n)
      .map((f) => join(dir, f))
  }

  beforeAll(async () => {
    tmp = tempDir()
    const src = linkEveryNthFrame(join(tmp.dir, 'signs'), CLASSES, 7)
    b = createBackend({
      dataDir: join(tmp.dir, 'data'),
      projectPath: join(tmp.dir, 'signs.tsproj'),
      runner: worker,
      inferenceWorker: {
        entry: resolve(__dirname, '../../../src/main/ml/worker/inferenceWorker.ts'),
        execArgv: ['--import', 'jiti/register']
      },
      dialogs: {
        async open(args) {
          dialogCalls.push(args)
          return ['/picked/by/user']
        }
      }
    })
    await b.handlers['library:import']({ folder: src, labels: 'folders' })
    await b.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 3 })
  })
  afterAll(async () => {
    await b?.dispose()
    tmp.remove()
  })

  it('system:info and undoState before any run', async () => {
    const info = await b.handlers['system:info']({})
    expect(info.backend).toBeNull()
    expect(info.desktop).toBe(false)
    expect(typeof info.onnxRuntime).toBe('boolean')
    expect(info.cpus).toBeGreaterThan(0)
    expect(info.appVersion).toMatch(/^\d+\.\d+\.\d+/)
    expect(await b.handlers['library:undoState']({})).toEqual({ canUndo: false, canRedo: false })
    const page = await b.handlers['library:query']({ filter: {}, offset: 0, limit: 1 })
    await b.handlers['library:setLabel']({ imageIds: [page.items[0].id], classId: null })
    expect(await b.handlers['library:undoState']({})).toEqual({ canUndo: true, canRedo: false })
    await b.handlers['library:undo']({})
    expect(await b.handlers['library:undoState']({})).toEqual({ canUndo: false, canRedo: true })
    expect((await b.handlers['library:image']({ id: page.items[0].id })).classId).toBe(page.items[0].classId)
    await expect(b.handlers['library:image']({ id: 999_999 })).rejects.toMatchObject({
      name: 'NotFoundError'
    })
  })

  it('validates base models without throwing for bad files', async () => {
    const v = b.handlers['training:validateBase']
    expect((await v({ base: { kind: 'none' } })).ok).toBe(true)
    const missing = await v({ base: { kind: 'bvlc-npy', path: join(tmp.dir, 'nope.npy') } })
    expect(missing).toMatchObject({ ok: false })
    expect(missing.message).toMatch(/Nothing found/)
    writeFileSync(join(tmp.dir, 'junk.npy'), 'this is not numpy')
    const junk = await v({ base: { kind: 'bvlc-npy', path: join(tmp.dir, 'junk.npy') } })
    expect(junk.ok).toBe(false)
    expect(junk.message).toMatch(/junk\.npy cannot be used/)
    // 3x3 kernels everywhere: BVLC-structured but no AlexNet, full or reduced.
    const tiny = await v({
      base: { kind: 'bvlc-npy', path: resolve(__dirname, '../../fixtures/bvlc/tiny-py2.npy') }
    })
    expect(tiny.ok).toBe(false)
    expect(tiny.message).toMatch(/expected shape/)
    const reduced = await v({ base: { kind: 'bvlc-npy', path: NPY } })
    expect(reduced.ok).toBe(true)
    expect(reduced.message).toMatch(/reduced AlexNet/)
    expect(reduced.layers).toEqual(expect.arrayContaining(['conv1', 'conv5', 'fc7']))
    const notFolder = await v({ base: { kind: 'studio-model', path: NPY } })
    expect(notFolder.ok).toBe(false)
    await expect(v({ base: { kind: 'bvlc-npy' } } as never)).rejects.toMatchObject({
      name: 'ValidationError'
    })
  })

  it('estimates from the assumed rate, scaling with epochs and training images', async () => {
    const est = b.handlers['training:estimate']
    const one = await est({ config: baseConfig({ epochs: 1 }) })
    const four = await est({ config: baseConfig({ epochs: 4 }) })
    expect(one.basis).toMatch(/No run measured/)
    expect(one.trainImages).toBe((await b.handlers['library:stats']({})).splits.train)
    // Past the fixed start-up every run pays, the time is the work.
    const busy = (e: { seconds: number }) => e.seconds - RUN_OVERHEAD_SECONDS
    expect(one.rough).toBe(true)
    expect(busy(four) / busy(one)).toBeGreaterThan(3)
    expect(busy(four) / busy(one)).toBeLessThan(5)
    // The threads the run will split its batches over (the trainer's own rule) make it faster, by 0.6 each.
    const threads = process.env.TS_TRAIN_THREADS
    try {
      process.env.TS_TRAIN_THREADS = '1'
      const single = await est({ config: baseConfig({ epochs: 4 }) })
      process.env.TS_TRAIN_THREADS = '3'
      const triple = await est({ config: baseConfig({ epochs: 4 }) })
      // (estimates are rounded to hundredths of a second)
      expect(busy(single) / busy(triple)).toBeGreaterThan(2.1)
      expect(busy(single) / busy(triple)).toBeLessThan(2.3)
    } finally {
      if (threads === undefined) delete process.env.TS_TRAIN_THREADS
      else process.env.TS_TRAIN_THREADS = threads
    }
    // A bigger model costs more per image.
    const wide = await est({
      config: baseConfig({ epochs: 4, model: { architecture: 'compact', width: 1 } })
    })
    expect(wide.seconds).toBeGreaterThan(four.seconds)
    // Fewer training images (a larger test split), then back to the original split (same seed).
    await b.handlers['library:split']({ val: 0.2, test: 0.4, groupBy: 'track', seed: 3 })
    const fewer = await est({
      config: baseConfig({ epochs: 4, model: { architecture: 'compact', width: 1 } })
    })
    expect(fewer.trainImages).toBeLessThan(wide.trainImages)
    expect(fewer.seconds).toBeLessThan(wide.seconds)
    await b.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 3 })
    expect((await est({ config: baseConfig({ epochs: 1 }) })).trainImages).toBe(one.trainImages)
    await expect(est({ config: { epochs: 1 } } as never)).rejects.toMatchObject({ name: 'ValidationError' })
  })

  it('trains in the worker while the library answers quickly; events, list and get', async () => {
    const progress = record(b, 'training-progress')
    const firstBatch = until(b, 'training-progress', (e) => e.type === 'batch')
    const done = until(b, 'training-progress', (e) => e.type === 'completed' || e.type === 'failed')
    // Batches of a few hundred ms: in process they would hold the queries below back.
    const config = baseConfig({
      epochs: 2,
      batchSize: 16,
      model: { architecture: 'compact', width: 0.5, fcUnits: 64, dropout: 0.25, batchNorm: false }
    })
    runId = (await b.handlers['training:start']({ config })).runId
    await firstBatch
    // The run trains in the child process: a library query issued meanwhile is answered at once, never held
    // behind a batch (in process, each batch would block this loop for its whole duration).
    const waits: number[] = []
    let stillRunning: number | null = null
    let finished = false
    void done.then(() => (finished = true))
    while (!finished) {
      const t0 = performance.now()
      await new Promise((r) => setTimeout(r, 10))
      await b.handlers['library:query']({
        filter: {},
        sort: { key: 'fileName', descending: false },
        offset: 0,
        limit: 50
      })
      waits.push(performance.now() - t0 - 10)
      if (!finished) stillRunning = (await b.handlers['training:running']({})).runId
    }
    const final = await done
    progress.off()
    const worst = Math.max(...waits)
    console.log(`library:query while training: ${waits.length} queries, worst delay ${worst.toFixed(1)} ms`)
    expect(stillRunning).toBe(runId)
    expect(waits.length).toBeGreaterThan(10)
    expect(worst).toBeLessThan(150)
    expect(final.type).toBe('completed')
    const types = new Set(progress.events.map((e: TrainingEvent) => e.type))
    for (const t of ['started', 'batch', 'epoch', 'completed']) expect(types).toContain(t)
    expect(progress.events.every((e) => e.runId === runId)).toBe(true)

    const list = await b.handlers['training:list']({})
    expect(list.map((r) => r.id)).toContain(runId)
    const got = await b.handlers['training:get']({ runId })
    expect(got.status).toBe('completed')
    expect(got.history.map((h) => h.epoch)).toEqual([1, 2])
    expect(got).not.toHaveProperty('runDir')
    const info = await b.handlers['system:info']({})
    expect(info.backend).toBe(got.backend)
    expect(info.backend).not.toBeNull()
    await expect(b.handlers['training:get']({ runId: 9999 })).rejects.toMatchObject({ name: 'NotFoundError' })

    // With a measured run the estimate says so, and its rate reproduces that run's duration.
    const est = await b.handlers['training:estimate']({ config: got.config })
    console.log(`estimate after run: ${est.seconds}s vs measured ${got.seconds}s; ${est.basis}`)
    expect(est.basis).toMatch(new RegExp(`Measured on run ${runId}`))
    expect(est).toMatchObject({ measuredRun: runId, rough: false })
    expect(est.seconds).toBeGreaterThanOrEqual((got.seconds as number) * 0.5 - 0.1)
    expect(est.seconds).toBeLessThanOrEqual((got.seconds as number) * 2 + 0.1)
  })

  it('evaluates, stores per-image predictions and the library filters and sorts by them', async () => {
    const changed = record(b, 'library-changed')
    const result = await b.handlers['training:evaluate']({ runId })
    changed.off()
    expect(changed.events).toContainEqual({ reason: 'predictions' })
    const stats = await b.handlers['library:stats']({})
    expect(result.images).toBe(stats.splits.test)
    expect(await b.handlers['training:evaluation']({ runId })).toEqual(result)

    const wrongCount = result.confusion.reduce(
      (s, row, i) => s + row.reduce((t, n, j) => t + (i === j ? 0 : n), 0),
      0
    )
    const wrong = await b.handlers['library:query']({
      filter: { disagreesWithRun: runId },
      runId,
      offset: 0,
      limit: 1000
    })
    expect(wrong.total).toBe(wrongCount)
    for (const img of wrong.items) expect(img.predictedClassId).not.toBe(img.classId)

    const sorted = await b.handlers['library:query']({
      filter: { split: 'test' },
      runId,
      sort: { key: 'confidence', descending: true },
      offset: 0,
      limit: 1000
    })
    expect(sorted.total).toBe(result.images)
    const conf = sorted.items.map((i) => i.confidence as number)
    expect(conf.every((c) => c > 0 && c <= 1)).toBe(true)
    expect(conf).toEqual([...conf].sort((x, y) => y - x))
    expect(new Set(conf).size).toBeGreaterThan(1)
  })

  it('predicts on paths and on dropped bytes; a bad file gets its own error entry', async () => {
    const paths = CLASSES.flatMap((c) => testImages(c, 2))
    const bad = join(tmp.dir, 'bad.png')
    writeFileSync(bad, 'not an image')
    const byPath = await b.handlers['training:predict']({
      runId,
      files: [...paths.map((path) => ({ path })), { path: bad }, { path: join(tmp.dir, 'gone.ppm') }],
      top: 2
    })
    expect(byPath).toHaveLength(paths.length + 2)
    byPath.slice(0, paths.length).forEach((p, i) => {
      expect(p.path).toBe(paths[i])
      expect(p.error).toBeUndefined()
      expect(p.top).toHaveLength(2)
      expect(CLASSES.map(String)).toContain(p.top[0].key)
      expect(p.top[0].probability).toBeGreaterThanOrEqual(p.top[1].probability)
    })
    expect(byPath[paths.length]).toMatchObject({ path: bad, top: [] })
    expect(byPath[paths.length].error).toBeTruthy()
    expect(byPath[paths.length + 1].error).toBeTruthy()

    const bytes = await b.handlers['training:predict']({
      runId,
      files: [
        { name: 'drop.ppm', dataBase64: readFileSync(paths[0]).toString('base64') },
        { name: 'junk.jpg', dataBase64: Buffer.from('garbage').toString('base64') }
      ]
    })
    expect(bytes[0].path).toBe('drop.ppm')
    expect(bytes[0].top[0].classId).toBe(byPath[0].top[0].classId)
    expect(bytes[0].top[0].probability).toBeCloseTo(byPath[0].top[0].probability, 5)
    expect(bytes[1]).toMatchObject({ path: 'junk.jpg', top: [] })
    expect(bytes[1].error).not.toContain(tmp.dir)

    await expect(
      b.handlers['training:predict']({ runId: 4242, files: [{ path: paths[0] }] })
    ).rejects.toMatchObject({
      name: 'NotFoundError'
    })
    await expect(b.handlers['training:predict']({ runId, files: [] })).rejects.toMatchObject({
      name: 'ValidationError'
    })
  })

  it('previews an export (empty, non-empty, unwritable) and the export writes those files', async () => {
    const empty = join(tmp.dir, 'export-empty')
    mkdirSync(empty)
    const preview = await b.handlers['training:exportPreview']({ runId, outDir: empty })
    expect(preview.problem).toBeNull()
    const names = preview.files.map((f) => f.name)
    expect(names).toEqual(expect.arrayContaining(['metadata.json', 'model.json', 'README.md']))
    for (const f of preview.files) expect(f.description.length).toBeGreaterThan(10)

    const full = join(tmp.dir, 'export-full')
    mkdirSync(full)
    writeFileSync(join(full, 'keep.txt'), 'mine')
    expect((await b.handlers['training:exportPreview']({ runId, outDir: full })).problem).toMatch(/not empty/)
    // Under a regular file: no folder can be created there, even as root.
    expect(
      (await b.handlers['training:exportPreview']({ runId, outDir: '/etc/hostname/x' })).problem
    ).toMatch(/is a file/)
    expect(
      (await b.handlers['training:exportPreview']({ runId, outDir: join(tmp.dir, 'new', 'deep') })).problem
    ).toBeNull()

    const out = await b.handlers['training:export']({ runId, outDir: empty })
    expect([...out.files].sort()).toEqual([...names].sort())
    await expect(b.handlers['training:export']({ runId, outDir: full })).rejects.toThrow(/not empty/)
    expect(readdirSync(full)).toEqual(['keep.txt'])

    // The exported folder is read as a studio model, and refused as a transfer base: it is no AlexNet.
    const asBase = await b.handlers['training:validateBase']({ base: { kind: 'studio-model', path: empty } })
    expect(asBase.ok).toBe(false)
    expect(asBase.message).toMatch(/compact CNN .* 3 classes.*AlexNet's fc7/)
  })

  it('dialog:open goes to the injected dialogs, and is unsupported without them', async () => {
    const r = await b.handlers['dialog:open']({ kind: 'folder', title: 'Pick', multiple: false })
    expect(r).toEqual({ supported: true, paths: ['/picked/by/user'] })
    expect(dialogCalls.at(-1)).toEqual({ kind: 'folder', title: 'Pick', multiple: false })
    await expect(b.handlers['dialog:open']({ kind: 'disk' } as never)).rejects.toMatchObject({
      name: 'ValidationError'
    })
    const plain = createBackend({ dataDir: join(tmp.dir, 'data-plain') })
    try {
      expect(await plain.handlers['dialog:open']({ kind: 'file' })).toEqual({ supported: false, paths: [] })
    } finally {
      await plain.dispose()
    }
  })

  it('training-progress events reach a WebSocket client of the real server', async () => {
    const server = await startServer({ backend: b, port: 0, host: '127.0.0.1' })
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${encodeURIComponent(server.token)}`)
    try {
      await new Promise((ok, fail) => {
        ws.once('open', ok)
        ws.once('error', fail)
      })
      const seen: TrainingEvent[] = []
      let startedId = 0
      const completed = new Promise<void>((done) => {
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as ServerMessage
          if (m.type === 'result' && m.ok) startedId = (m.result as { runId: number }).runId
          if (m.type === 'event' && m.event === 'training-progress') {
            const e = m.payload as TrainingEvent
            seen.push(e)
            if (e.type === 'completed' || e.type === 'failed') done()
          }
        })
      })
      ws.send(
        JSON.stringify({
          type: 'invoke',
          id: 1,
          channel: 'training:start',
          args: { config: baseConfig({ epochs: 1 }) }
        })
      )
      await completed
      expect(seen.at(-1)!.type).toBe('completed')
      expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['started', 'epoch', 'completed']))
      expect(seen.every((e) => e.runId === startedId)).toBe(true)
    } finally {
      ws.close()
      await server.close()
    }
  })
})
