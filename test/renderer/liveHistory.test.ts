// Rebuilding a run's live state after a reload: the stored summary, the backend's kept history and the live
// stream merged by `seq` give exactly the state of a window that watched the whole run (no gap, no duplicate),
// on the REAL recorded event sequence (fixtures/recordedRun.json); and a resumed epoch never draws backwards.
import { describe, expect, it } from 'vitest'
import type { RunSummary, TrainingEvent } from '@shared/training'
import {
  applyTrainingEvent,
  emptyLive,
  liveFromHistory,
  runProgress,
  type LiveRun
} from '@renderer/stores/training'
import { curveOption } from '@renderer/lib/curves'
import recorded from './fixtures/recordedRun.json'

const summary = recorded.summary as unknown as RunSummary
/** The recorded run, stamped as the service stamps events (seq from 101 on). */
const events: TrainingEvent[] = (recorded.events as TrainingEvent[]).map((e, i) => ({ ...e, seq: 101 + i }))
const LABELS = { train: 'train', val: 'val', batch: 'batch', epoch: 'epoch', title: 't' }

function watchedWhole(): LiveRun {
  const live = emptyLive(summary.id)
  for (const e of events) applyTrainingEvent(live, e)
  return live
}

function batchXs(live: LiveRun): number[] {
  return live.batches.map((b) => b.x)
}

function increasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1])
}

describe('a reloaded run merged from its history and the live stream', () => {
  it('equals the state of a window that watched the whole run', () => {
    expect(events.filter((e) => e.type === 'batch').length).toBeGreaterThanOrEqual(6)
    const cut = Math.floor(events.length / 2)
    // Summary as stored at the reload: no epoch rows yet, the counts kept with the run.
    const atReload: RunSummary = {
      ...summary,
      status: 'running',
      history: [],
      valAccuracy: null,
      seconds: null
    }
    const history = { runId: summary.id, seq: events[cut - 1].seq!, events: events.slice(0, cut) }
    // Events that arrived while the history was fetched: some it already holds, then new ones.
    const pending = events.slice(cut - 5, cut + 5)
    const live = liveFromHistory(atReload, history, pending)
    // The rest of the stream, with a duplicate of the last pending one.
    for (const e of events.slice(cut + 4)) applyTrainingEvent(live, e)

    const whole = watchedWhole()
    expect(batchXs(live)).toEqual(batchXs(whole))
    expect(live.batches).toEqual(whole.batches)
    expect(live.history).toEqual(whole.history)
    expect(live.status).toBe('completed')
    expect(live.trainImages).toBeGreaterThan(0)
    expect(increasing(batchXs(live))).toBe(true)
  })

  it('keeps the pre-reload points when only the history is there (no event since)', () => {
    const cut = Math.floor(events.length / 2)
    const history = { runId: summary.id, seq: events[cut - 1].seq!, events: events.slice(0, cut) }
    const live = liveFromHistory({ ...summary, status: 'running', history: [] }, history)
    const before = events.slice(0, cut).filter((e) => e.type === 'batch').length
    expect(live.batches).toHaveLength(before)
    expect(live.seq).toBe(events[cut - 1].seq!)
    expect(live.status).toBe('running')
    // The live stream then continues after the history's seq, and nothing at or below it counts again.
    applyTrainingEvent(live, events[cut - 1])
    expect(live.batches).toHaveLength(before)
  })

  it('falls back to the stored summary when the backend kept no history', () => {
    const live = liveFromHistory(summary, null)
    expect(live.history.map((h) => h.epoch)).toEqual(summary.history.map((h) => h.epoch))
    expect(live.trainImages).toBe(summary.trainImages ?? 0)
  })
})

describe('a resumed epoch', () => {
  const started = events.find((e) => e.type === 'started')!
  const batchesOf = (epoch: number) =>
    events.filter(
      (e): e is Extract<TrainingEvent, { type: 'batch' }> => e.type === 'batch' && e.epoch === epoch
    )

  it('replaces the points it redoes, so x only goes forward and no point is drawn twice', () => {
    const live = emptyLive(summary.id)
    applyTrainingEvent(live, started)
    const one = batchesOf(1)
    const two = batchesOf(2)
    for (const e of one) applyTrainingEvent(live, e)
    const epochOne = events.find((e) => e.type === 'epoch' && e.epoch === 1)!
    applyTrainingEvent(live, epochOne)
    // Epoch 2 cancelled half-way, then resumed from the checkpoint after epoch 1: epoch 2 from its start.
    const half = Math.ceil(two.length / 2)
    for (const e of two.slice(0, half)) applyTrainingEvent(live, e)
    let seq = 10_000
    applyTrainingEvent(live, { ...started, seq: ++seq })
    for (const e of two) applyTrainingEvent(live, { ...e, loss: e.loss + 1, seq: ++seq })

    const xs = batchXs(live)
    expect(increasing(xs)).toBe(true)
    expect(xs).toHaveLength(one.length + two.length)
    // The redone batches' values are the resumed ones.
    expect(live.batches.at(-1)!.loss).toBeCloseTo(two.at(-1)!.loss + 1, 9)
    // The chart's batch series is monotone too.
    const series = curveOption(
      'loss',
      [{ label: '#1', history: live.history, batches: live.batches }],
      LABELS
    )
    const batchSeries = series.series.find((s) => s.name === 'batch')!
    expect(increasing(batchSeries.data.map((d) => d[0]))).toBe(true)
  })

  it('replaces a redone epoch row and drops the later ones, and the chart plots epochs in order', () => {
    const live = emptyLive(summary.id)
    const rows = events.filter((e) => e.type === 'epoch')
    for (const e of rows) applyTrainingEvent(live, e)
    applyTrainingEvent(live, { ...rows[1], trainLoss: 9, seq: 99_999 })
    expect(live.history.map((h) => h.epoch)).toEqual([1, 2])
    expect(live.history[1].trainLoss).toBe(9)
    const option = curveOption(
      'loss',
      [{ label: '#1', history: [live.history[1], live.history[0]], batches: [] }],
      LABELS
    )
    expect(option.series.find((s) => s.name === 'train')!.data.map((d) => d[0])).toEqual([1, 2])
  })
})

describe('runProgress (the nav pill and the dashboard bar)', () => {
  it('counts batches within the epoch', () => {
    const live = emptyLive(1)
    Object.assign(live, { status: 'running', totalEpochs: 10, epoch: 3, batch: 5, batchesPerEpoch: 10 })
    expect(runProgress(live)).toEqual({ epoch: 3, total: 10, fraction: 0.25 })
    live.status = 'completed'
    expect(runProgress(live).fraction).toBe(1)
  })
})
