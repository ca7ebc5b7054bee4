// @vitest-environment happy-dom
// The training store after a reload mid-run, against the REAL backend training a real compact-CNN run on
// real GTSRB frames in the forked worker: a second store (the reloaded page) that receives live events
// before it lists the runs, and whose history request is held on the transport while more events arrive,
// ends the run with exactly the curve of the store that watched it from its start: no gap, no duplicate.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { setApi } from '@renderer/api'
import { useTrainingStore } from '@renderer/stores/training'
import { defaultTrainConfig } from '../../src/main/ml/train/config'
import { buildProject, createRealApi, settle, type BuiltProject, type RealApi } from './backend/realApi'

let project: BuiltProject
let api: RealApi
beforeAll(async () => {
  project = await buildProject({ perClass: 28, split: true })
  api = await createRealApi({ from: project.path })
  setApi(api)
}, 120_000)
afterAll(async () => {
  setApi(null)
  await api?.dispose()
  project?.remove()
})

describe('a reloaded page mid-run', () => {
  it('rebuilds the run from the history and the live stream, as the watching page has it', async () => {
    setActivePinia(createPinia())
    const watching = useTrainingStore()
    const runId = await watching.start({ ...defaultTrainConfig('custom'), epochs: 6, batchSize: 8 })
    expect(runId).not.toBeNull()
    await vi.waitFor(() => expect(watching.live.get(runId!)!.epoch).toBeGreaterThanOrEqual(2), {
      timeout: 60_000,
      interval: 20
    })

    // The reload: a fresh store. Live events reach it before it asks for the runs, and its history
    // request is held while more go by.
    setActivePinia(createPinia())
    const reloaded = useTrainingStore()
    await vi.waitFor(() => expect(reloaded.live.get(runId!)?.batches.length ?? 0).toBeGreaterThan(0), {
      timeout: 30_000,
      interval: 10
    })
    const seenBefore = reloaded.live.get(runId!)!.batches.length
    api.delayNext('training:history', 500)
    await reloaded.loadRuns()
    expect(api.calls.filter((c) => c.channel === 'training:history')).toHaveLength(1)
    expect(reloaded.watchedId).toBe(runId)
    const rebuilt = reloaded.live.get(runId!)!
    // The pre-reload batches are there, not only those since the page came back.
    expect(rebuilt.batches.length).toBeGreaterThan(seenBefore)
    expect(rebuilt.trainImages).toBeGreaterThan(0)

    await vi.waitFor(() => expect(reloaded.live.get(runId!)!.status).toBe('completed'), {
      timeout: 120_000,
      interval: 50
    })
    await vi.waitFor(() => expect(watching.live.get(runId!)!.status).toBe('completed'))
    await settle(50)
    const a = watching.live.get(runId!)!
    const b = reloaded.live.get(runId!)!
    expect(b.batches).toEqual(a.batches)
    expect(b.history).toEqual(a.history)
    expect(b.batches.length).toBe(a.batchesPerEpoch * 6)
    const xs = b.batches.map((p) => p.x)
    expect(xs.every((x, i) => i === 0 || x > xs[i - 1])).toBe(true)
  }, 240_000)
})
