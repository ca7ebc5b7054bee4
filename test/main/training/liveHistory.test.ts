// A run's streamed history (`training:history`): taken mid-run from a real short run on real GTSRB images in
// a real SQLite project, it holds exactly what was streamed up to its `seq`; and the run log's bounds
// (superseded batches of a resumed epoch dropped, thinning past the cap) on recorded event shapes.
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TrainingEvent, TrainingHistory } from '../../../src/shared/training'
import { createBackend, type Backend } from '../../../src/main/backend'
import { RunLog, batchStep } from '../../../src/main/training/runLog'
import { initBackend } from '../../../src/main/ml/tfjs/backend'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'
import { baseConfig } from '../ml/train/trainerFixtures'

const run = sharedDataAvailable() ? describe : describe.skip

/** What the log keeps of a stream: everything but superseded phases (only the latest phase stays). */
function kept(streamed: TrainingEvent[]): TrainingEvent[] {
  const lastPhase = streamed.filter((e) => e.type === 'phase').at(-1)
  return streamed.filter((e) => e.type !== 'phase' || e === lastPhase)
}

run('training:history on a real run', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    const src = join(tmp.dir, 'signs')
    for (const c of [14, 17, 38]) {
      mkdirSync(join(src, String(c)), { recursive: true })
      const dir = join(SHARED_DATA, 'gtsrb-train', String(c))
      for (const f of readdirSync(dir).sort().slice(0, 40)) symlinkSync(join(dir, f), join(src, String(c), f))
    }
    backend = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'signs.tsproj') })
    await backend.handlers['library:import']({ folder: src, labels: 'folders' })
    await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 1 })
  })
  afterAll(async () => {
    await backend?.dispose()
    tmp.remove()
  })

  it('mid-run holds what was streamed up to its seq, and the whole run at the end', async () => {
    const service = backend.services.training
    const streamed: TrainingEvent[] = []
    let mid: { history: TrainingHistory; streamed: TrainingEvent[] } | null = null
    let runId = -1
    const off = service.onEvent((e) => {
      streamed.push(e)
      // Taken in the middle of epoch 2, as a reloading page would ask for it.
      if (!mid && e.type === 'batch' && e.epoch === 2 && e.batch === 2)
        mid = { history: service.history(e.runId), streamed: [...streamed] }
    })
    runId = (await backend.handlers['training:start']({ config: baseConfig({ epochs: 3, batchSize: 16 }) }))
      .runId
    const record = await service.wait(runId)
    off()
    expect(record.status).toBe('completed')

    // Every event is stamped, in increasing order.
    const seqs = streamed.map((e) => e.seq)
    expect(seqs.every((s) => typeof s === 'number')).toBe(true)
    expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!))
    expect(new Set(seqs).size).toBe(seqs.length)

    expect(mid).not.toBeNull()
    const m = mid!
    expect(m.history.runId).toBe(runId)
    expect(m.history.seq).toBe(m.streamed.at(-1)!.seq)
    expect(m.history.events).toEqual(kept(m.streamed))
    // Epoch 1's batches and its per-epoch metrics are there, and nothing after the snapshot.
    const batches = m.history.events.filter((e) => e.type === 'batch')
    const perEpoch = (batches[0] as Extract<TrainingEvent, { type: 'batch' }>).batchesPerEpoch
    expect(batches).toHaveLength(perEpoch + 2)
    expect(m.history.events.filter((e) => e.type === 'epoch')).toHaveLength(1)

    // The 'started' event carries the run's real image counts, the ones stored with the run.
    const started = streamed.find((e) => e.type === 'started') as Extract<TrainingEvent, { type: 'started' }>
    expect(started.trainImages).toBeGreaterThan(0)
    expect(started.valImages).toBeGreaterThan(0)
    const summary = await backend.handlers['training:get']({ runId })
    expect([summary.trainImages, summary.valImages]).toEqual([started.trainImages, started.valImages])

    // After the end, through the handler: the whole run, ending with 'completed'.
    const end = await backend.handlers['training:history']({ runId })
    expect(end.events).toEqual(kept(streamed))
    expect(end.events.at(-1)!.type).toBe('completed')
    expect(end.events.filter((e) => e.type === 'batch')).toHaveLength(perEpoch * 3)
  }, 120_000)

  it('after a cancel mid-epoch and a resume, holds each batch once, in order', async () => {
    const service = backend.services.training
    let cancelled = false
    const off = service.onEvent((e) => {
      // Cancelled inside epoch 3: its first batches are redone by the resume (from the epoch-2 checkpoint).
      if (!cancelled && e.type === 'batch' && e.epoch === 3 && e.batch === 3) {
        cancelled = true
        service.cancel(e.runId)
      }
    })
    const { runId } = await backend.handlers['training:start']({
      config: baseConfig({ epochs: 4, batchSize: 16 })
    })
    expect((await service.wait(runId)).status).toBe('cancelled')
    const before = service.history(runId).events.filter((e) => e.type === 'batch')
    await backend.handlers['training:resume']({ runId })
    const record = await service.wait(runId)
    off()
    expect(record.status).toBe('completed')

    const events = (await backend.handlers['training:history']({ runId })).events
    const batches = events.filter((e): e is Extract<TrainingEvent, { type: 'batch' }> => e.type === 'batch')
    const per = batches[0].batchesPerEpoch
    // Epoch 3's three cancelled batches were there, and are gone now: every step once, increasing.
    expect(before.filter((e) => e.type === 'batch' && e.epoch === 3)).toHaveLength(3)
    expect(batches.map(batchStep)).toEqual(Array.from({ length: per * 4 }, (_, i) => i + 1))
    expect(events.filter((e) => e.type === 'epoch').map((e) => (e.type === 'epoch' ? e.epoch : 0))).toEqual([
      1, 2, 3, 4
    ])
    expect(events.filter((e) => e.type === 'started')).toHaveLength(1)
    expect(events.at(-1)!.type).toBe('completed')
    const seqs = events.map((e) => e.seq!)
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
  }, 120_000)

  it('refuses the history of a run that is not in the project', async () => {
    await expect(backend.handlers['training:history']({ runId: 9999 })).rejects.toThrow(/not found/)
  })
})

describe('RunLog', () => {
  const batch = (seq: number, epoch: number, b: number, per = 10): TrainingEvent => ({
    type: 'batch',
    runId: 1,
    epoch,
    batch: b,
    batchesPerEpoch: per,
    loss: 1 / seq,
    accuracy: 0.5,
    imagesPerSecond: 100,
    seq
  })

  it('drops the batches a resumed epoch redoes, so steps only increase', () => {
    const log = new RunLog()
    let seq = 0
    for (let e = 1; e <= 2; e++) for (let b = 1; b <= 10; b++) log.add(batch(++seq, e, b))
    for (let b = 1; b <= 4; b++) log.add(batch(++seq, 3, b)) // cancelled in epoch 3, at batch 4
    // Resumed from the checkpoint after epoch 2: epoch 3 again from batch 1.
    log.add({
      type: 'started',
      runId: 1,
      backend: 'wasm',
      totalEpochs: 5,
      batchesPerEpoch: 10,
      trainImages: 300,
      valImages: 60,
      seq: ++seq
    })
    for (let b = 1; b <= 2; b++) log.add(batch(++seq, 3, b))
    const steps = log
      .events()
      .filter((e) => e.type === 'batch')
      .map((e) => batchStep(e as Extract<TrainingEvent, { type: 'batch' }>))
    expect(steps).toEqual([...Array.from({ length: 20 }, (_, i) => i + 1), 21, 22])
    const seqs = log.events().map((e) => e.seq!)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  })

  it('stays bounded on a long run, keeping the newest batches whole', () => {
    const log = new RunLog(100)
    for (let i = 1; i <= 10_000; i++) log.add(batch(i, Math.ceil(i / 50), ((i - 1) % 50) + 1, 50))
    const batches = log.events().filter((e) => e.type === 'batch')
    expect(batches.length).toBeLessThanOrEqual(100)
    expect(batches.at(-1)!.seq).toBe(10_000)
    expect(batches.at(-2)!.seq).toBe(9_999)
    expect(batches[0].seq).toBe(1)
  })
})
