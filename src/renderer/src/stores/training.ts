// Training runs: the history (`training:list`), the live state of a running run built from
// `training-progress` events, start/cancel/resume, evaluations and exports, and what the backend runs on.
// The event reducer is a plain function (`applyTrainingEvent`) so a recorded sequence can be replayed in tests.
import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { SystemInfo } from '@shared/ipc'
import type {
  BackendName,
  EvaluationResult,
  RunSummary,
  TrainConfig,
  TrainingEvent,
  TrainingHistory
} from '@shared/training'
import { getApi } from '@renderer/api'
import { errorMessage, useNotifyStore } from './notify'

/** Batch points kept per run; older ones are thinned so a long run does not grow the chart forever. */
export const MAX_BATCH_POINTS = 1500

/** One batch of training, at `x` = fractional epoch (epoch 2, batch 3 of 10 -> 1.3). */
export interface BatchPoint {
  x: number
  loss: number
  accuracy: number
}

/** What the dashboard shows about a run while (and after) it trains in this window. */
export interface LiveRun {
  runId: number
  status: 'starting' | 'running' | 'completed' | 'failed' | 'cancelled'
  backend: BackendName | null
  /** Threads computing each train step (2 when the wasm backend trains data-parallel); 1 when not said. */
  threads: number
  totalEpochs: number
  batchesPerEpoch: number
  trainImages: number
  valImages: number
  /** What the trainer is doing besides batches (loading, caching features, evaluating, saving). */
  phase: { phase: string; done: number; total: number } | null
  epoch: number
  batch: number
  imagesPerSecond: number
  etaSeconds: number | null
  batches: BatchPoint[]
  history: RunSummary['history']
  valAccuracy: number | null
  seconds: number | null
  stoppedEarly: boolean
  error: string | null
  /** The last event's `seq` folded in (0 = none): an event at or below it is a duplicate. */
  seq: number
}

export function emptyLive(runId: number): LiveRun {
  return {
    runId,
    status: 'starting',
    backend: null,
    threads: 1,
    totalEpochs: 0,
    batchesPerEpoch: 0,
    trainImages: 0,
    valImages: 0,
    phase: null,
    epoch: 0,
    batch: 0,
    imagesPerSecond: 0,
    etaSeconds: null,
    batches: [],
    history: [],
    valAccuracy: null,
    seconds: null,
    stoppedEarly: false,
    error: null,
    seq: 0
  }
}

/** Fold one event into a run's live state (mutates and returns it); one already folded in is skipped. */
export function applyTrainingEvent(live: LiveRun, e: TrainingEvent): LiveRun {
  if (e.seq !== undefined) {
    if (e.seq <= live.seq) return live
    live.seq = e.seq
  }
  switch (e.type) {
    case 'started':
      live.status = 'running'
      live.backend = e.backend
      live.threads = e.threads ?? 1
      live.totalEpochs = e.totalEpochs
      live.batchesPerEpoch = e.batchesPerEpoch
      live.trainImages = e.trainImages
      live.valImages = e.valImages
      break
    case 'phase':
      live.phase = { phase: e.phase, done: e.done, total: e.total }
      break
    case 'batch': {
      live.status = 'running'
      live.phase = null
      live.epoch = e.epoch
      live.batch = e.batch
      live.batchesPerEpoch = e.batchesPerEpoch
      live.imagesPerSecond = e.imagesPerSecond
      const x = e.epoch - 1 + e.batch / e.batchesPerEpoch
      // A resumed epoch redoes batches: its new points replace the old ones, so x only goes forward.
      while (live.batches.length > 0 && live.batches[live.batches.length - 1].x >= x) live.batches.pop()
      live.batches.push({ x, loss: e.loss, accuracy: e.accuracy })
      // Keep every other old point: the shape of the curve stays, the memory does not grow.
      if (live.batches.length > MAX_BATCH_POINTS) {
        const half = Math.floor(live.batches.length / 2)
        live.batches = [
          ...live.batches.slice(0, half).filter((_, i) => i % 2 === 0),
          ...live.batches.slice(half)
        ]
      }
      break
    }
    case 'epoch': {
      live.epoch = e.epoch
      live.totalEpochs = e.totalEpochs
      live.etaSeconds = e.etaSeconds
      const row = {
        epoch: e.epoch,
        trainLoss: e.trainLoss,
        trainAccuracy: e.trainAccuracy,
        valLoss: e.valLoss,
        valAccuracy: e.valAccuracy
      }
      // A redone epoch replaces its row and any later one, so the epochs stay in order.
      live.history = [...live.history.filter((h) => h.epoch < e.epoch), row]
      break
    }
    case 'completed':
      live.status = 'completed'
      live.phase = null
      live.valAccuracy = e.valAccuracy
      live.seconds = e.seconds
      live.stoppedEarly = e.stoppedEarly
      live.etaSeconds = 0
      break
    case 'failed':
      live.status = 'failed'
      live.phase = null
      // Worded in the UI's language when the backend sent the catalogue's code (src/shared/messages).
      live.error = errorMessage(e.error)
      break
    case 'cancelled':
      live.status = 'cancelled'
      live.phase = null
      break
  }
  return live
}

/**
 * How far a run is, for the dashboard's bar and the nav's pill: the epoch on now (1-based; 0 before the
 * first batch) and the fraction done, counting batches within the epoch.
 */
export function runProgress(r: LiveRun): { epoch: number; total: number; fraction: number } {
  if (r.status === 'completed') return { epoch: r.totalEpochs, total: r.totalEpochs, fraction: 1 }
  if (r.totalEpochs === 0) return { epoch: r.epoch, total: 0, fraction: 0 }
  const inEpoch = r.batchesPerEpoch > 0 ? r.batch / r.batchesPerEpoch : 0
  const fraction = Math.min(1, (Math.max(0, r.epoch - 1) + inEpoch) / r.totalEpochs)
  return { epoch: r.epoch, total: r.totalEpochs, fraction }
}

/**
 * The live state of a run this window did not watch from its start (after a reload): its stored summary,
 * then the events the backend kept (`history`), then those that arrived while it was fetched (`pending`);
 * events are folded in by `seq`, so none counts twice.
 */
export function liveFromHistory(
  run: RunSummary,
  history: TrainingHistory | null,
  pending: TrainingEvent[] = []
): LiveRun {
  const live = liveFromSummary(run)
  for (const e of history?.events ?? []) applyTrainingEvent(live, e)
  if (history) live.seq = Math.max(live.seq, history.seq)
  for (const e of pending) applyTrainingEvent(live, e)
  return live
}

/** Live state of a run that was not watched from its start (after a reload): from its stored summary. */
export function liveFromSummary(run: RunSummary): LiveRun {
  const live = emptyLive(run.id)
  live.status = run.status === 'queued' ? 'starting' : run.status
  live.backend = run.backend
  live.threads = run.threads ?? 1
  live.totalEpochs = run.config.epochs
  live.trainImages = run.trainImages ?? 0
  live.valImages = run.valImages ?? 0
  live.epoch = run.epochsDone
  live.history = run.history.map((h) => ({ ...h }))
  live.valAccuracy = run.valAccuracy
  live.seconds = run.seconds
  return live
}

export const useTrainingStore = defineStore('training', () => {
  const api = getApi()
  const notify = useNotifyStore()

  /** Runs of the open project, newest first. */
  const runs = ref<RunSummary[]>([])
  /** Live state by run id, for runs watched in this window (and the running one after a reload). */
  const live = reactive(new Map<number, LiveRun>())
  /** The run in progress, or null. */
  const runningId = ref<number | null>(null)
  /** The run the dashboard shows. */
  const watchedId = ref<number | null>(null)
  /** What the backend runs on; null until asked (or when the backend cannot say). */
  const system = ref<SystemInfo | null>(null)
  /** Stored evaluations by run id (null = asked, none yet). */
  const evaluations = reactive(new Map<number, EvaluationResult | null>())
  /** Runs being evaluated now. */
  const evaluating = reactive(new Set<number>())
  /** Last error of start/resume, shown by the caller. */
  const error = ref<string | null>(null)
  /** Runs whose history is being fetched, with the live events that arrived meanwhile. */
  const syncing = new Map<number, TrainingEvent[]>()
  /** Runs whose every event this window has (watched from their 'started', or rebuilt from the history). */
  const complete = new Set<number>()

  const completedRuns = computed(() => runs.value.filter((r) => r.status === 'completed'))
  const watched = computed(() => (watchedId.value === null ? null : (live.get(watchedId.value) ?? null)))

  function liveFor(runId: number): LiveRun {
    let l = live.get(runId)
    if (!l) {
      live.set(runId, emptyLive(runId))
      l = live.get(runId)!
    }
    return l
  }

  /** Feed one progress event (the API listener calls this; tests call it with recorded events). */
  function onEvent(e: TrainingEvent): void {
    const pending = syncing.get(e.runId)
    if (pending) pending.push(e)
    else applyTrainingEvent(liveFor(e.runId), e)
    if (e.type === 'started' && !pending && !live.get(e.runId)?.batches.length) complete.add(e.runId)
    if (e.type === 'started' || e.type === 'batch') runningId.value = e.runId
    if (e.type === 'started' && system.value) system.value = { ...system.value, backend: e.backend }
    if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') {
      if (runningId.value === e.runId) runningId.value = null
      void loadRuns()
    }
  }
  api.on('training-progress', onEvent)

  async function loadRuns(): Promise<void> {
    try {
      const [list, running] = await Promise.all([
        api.invoke('training:list', {}),
        api.invoke('training:running', {})
      ])
      runs.value = list
      runningId.value = running.runId
      // A run that trains while this window was closed (or before a reload): its stored summary and what
      // the backend kept of its stream, then the live stream from there.
      // Events that came in before this ran are in the history too (stamped before it was answered).
      if (running.runId !== null && !complete.has(running.runId) && !syncing.has(running.runId)) {
        const r = list.find((x) => x.id === running.runId)
        if (r) await syncRun(r)
        if (watchedId.value === null) watchedId.value = running.runId
      }
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
  }

  async function syncRun(run: RunSummary): Promise<void> {
    const pending: TrainingEvent[] = []
    syncing.set(run.id, pending)
    let history: TrainingHistory | null = null
    try {
      history = await api.invoke('training:history', { runId: run.id })
    } catch {
      // An older backend without the history: the stored per-epoch curves, then the live stream.
    } finally {
      syncing.delete(run.id)
    }
    live.set(run.id, liveFromHistory(run, history, pending))
    complete.add(run.id)
  }

  async function loadSystem(): Promise<void> {
    try {
      system.value = await api.invoke('system:info', {})
    } catch {
      // An older backend without system:info: the UI just does not show it.
      system.value = null
    }
  }

  /** Curves of any run: live when watched here, else the stored per-epoch history. */
  function curvesOf(runId: number): { history: RunSummary['history']; batches: BatchPoint[] } {
    const l = live.get(runId)
    if (l && (l.history.length > 0 || l.batches.length > 0)) return { history: l.history, batches: l.batches }
    const r = runs.value.find((x) => x.id === runId)
    return { history: r?.history ?? [], batches: [] }
  }

  async function start(config: TrainConfig): Promise<number | null> {
    error.value = null
    try {
      const { runId } = await api.invoke('training:start', { config: JSON.parse(JSON.stringify(config)) })
      liveFor(runId)
      complete.add(runId)
      runningId.value = runId
      watchedId.value = runId
      void loadRuns()
      return runId
    } catch (e) {
      error.value = errorMessage(e)
      return null
    }
  }

  async function cancel(runId: number): Promise<void> {
    try {
      await api.invoke('training:cancel', { runId })
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
  }

  async function resume(runId: number): Promise<void> {
    error.value = null
    try {
      const r = await api.invoke('training:resume', { runId })
      const l = liveFor(r.runId)
      l.status = 'starting'
      l.error = null
      runningId.value = r.runId
      watchedId.value = r.runId
      void loadRuns()
    } catch (e) {
      error.value = errorMessage(e)
      notify.error('app.error', { message: errorMessage(e) })
    }
  }

  async function loadEvaluation(runId: number): Promise<EvaluationResult | null> {
    try {
      const result = await api.invoke('training:evaluation', { runId })
      evaluations.set(runId, result)
      return result
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
      return null
    }
  }

  async function evaluate(runId: number): Promise<EvaluationResult | null> {
    evaluating.add(runId)
    try {
      const result = await api.invoke('training:evaluate', { runId })
      evaluations.set(runId, result)
      void loadRuns()
      return result
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
      return null
    } finally {
      evaluating.delete(runId)
    }
  }

  /** Forget the previous project's runs. */
  function reset(): void {
    runs.value = []
    live.clear()
    complete.clear()
    evaluations.clear()
    runningId.value = null
    watchedId.value = null
  }

  return {
    runs,
    live,
    runningId,
    watchedId,
    watched,
    system,
    evaluations,
    evaluating,
    error,
    completedRuns,
    onEvent,
    loadRuns,
    loadSystem,
    curvesOf,
    start,
    cancel,
    resume,
    loadEvaluation,
    evaluate,
    reset
  }
})
