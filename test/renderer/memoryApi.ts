// An in-memory StudioApi shaped like the real backend (same channels, filters, paging, undo stack and
// events), for renderer unit tests only; the end-to-end test drives the real backend and server.
import type { Channel, EventName, Events, HandlerArgs, HandlerResult, StudioApi } from '@shared/ipc'
import type { ClassInfo, ImageFilter, ImageQuery, ImageSummary, ImportProgressEvent } from '@shared/types'
import type { EvaluationResult, RunSummary, Strategy } from '@shared/training'
import { defaultTrainConfig } from '../../src/main/ml/train/config'

export interface MemoryApi extends StudioApi {
  images: ImageSummary[]
  classes: ClassInfo[]
  /** Every invoke, in order (channel and args), so tests can check what the UI asked for. */
  calls: { channel: Channel; args: unknown }[]
  /** Make the next invoke of a channel fail with this error. */
  failNext(channel: Channel, error: { name: string; message: string }): void
  /** Make the next invoke of a channel answer only after `ms` milliseconds. */
  slowNext(channel: Channel, ms: number): void
  emit<E extends EventName>(event: E, payload: Events[E]): void
  /** Resolve the pending `library:import` call with this summary's status. */
  finishImport(status: 'done' | 'cancelled'): void
  /** Training runs the memory backend knows (tests add completed ones). */
  runs: RunSummary[]
  /** Stored evaluations by run id. */
  evaluations: Map<number, EvaluationResult>
}

export function createMemoryApi(
  opts: {
    images?: number
    classes?: string[]
    labelled?: (i: number) => number | null
    noProject?: boolean
  } = {}
): MemoryApi {
  const classes: ClassInfo[] = (opts.classes ?? []).map((name, i) => ({
    id: i + 1,
    key: String(i),
    name,
    position: i,
    count: 0
  }))
  const images: ImageSummary[] = Array.from({ length: opts.images ?? 0 }, (_, i) => ({
    id: i + 1,
    fileName: `${String(Math.floor(i / 30)).padStart(5, '0')}_${String(i % 30).padStart(5, '0')}.ppm`,
    classId: opts.labelled ? opts.labelled(i) : null,
    split: null,
    width: 32,
    height: 32
  }))
  const listeners = new Map<EventName, Set<(p: unknown) => void>>()
  const failures = new Map<Channel, { name: string; message: string }>()
  const delays = new Map<Channel, number>()
  const undo: { ids: number[]; before: (number | null)[]; after: number | null }[] = []
  const redo: typeof undo = []
  const calls: MemoryApi['calls'] = []
  let importResolve: ((status: 'done' | 'cancelled') => void) | null = null
  const runs: RunSummary[] = []
  const evaluations = new Map<number, EvaluationResult>()
  let running: number | null = null

  const recount = () => {
    for (const c of classes) c.count = images.filter((im) => im.classId === c.id).length
  }
  const matches = (f: ImageFilter) => (im: ImageSummary) =>
    (!f.classIds?.length || (im.classId !== null && f.classIds.includes(im.classId))) &&
    (!f.unlabelled || im.classId === null) &&
    (!f.split || (f.split === 'none' ? im.split === null : im.split === f.split)) &&
    (!f.search || im.fileName.toLowerCase().includes(f.search.toLowerCase())) &&
    (f.disagreesWithRun === undefined ||
      (im.predictedClassId !== undefined && im.predictedClassId !== im.classId))
  const select = (q: Omit<ImageQuery, 'offset' | 'limit'>) => {
    const rows = images.filter(matches(q.filter))
    if (q.sort?.key === 'fileName') rows.sort((a, b) => a.fileName.localeCompare(b.fileName))
    if (q.sort?.descending) rows.reverse()
    return rows
  }
  const emit = <E extends EventName>(event: E, payload: Events[E]) => {
    for (const l of listeners.get(event) ?? []) l(payload)
  }
  const apply = (ids: number[], values: (number | null)[]) => {
    ids.forEach((id, i) => {
      const im = images.find((x) => x.id === id)
      if (im) im.classId = values[i]
    })
    recount()
  }

  const handlers: {
    [C in Channel]?: (args: HandlerArgs<C>) => HandlerResult<C> | Promise<HandlerResult<C>>
  } = {
    'project:current': () =>
      opts.noProject
        ? null
        : { path: '/tmp/p.tsproj', name: 'p', schemaVersion: 1, thumbnailDir: '/tmp/p.thumbs' },
    'project:recent': () => [],
    'project:open': ({ path }) => {
      throw Object.assign(new Error(`project file not found: ${path}`), { name: 'NotFoundError' })
    },
    'library:query': (q) => {
      const rows = select(q)
      return {
        total: rows.length,
        offset: q.offset,
        items: rows.slice(q.offset, q.offset + q.limit).map((r) => ({ ...r }))
      }
    },
    'library:queryIds': (q) => ({ ids: select(q).map((r) => r.id) }),
    'library:image': ({ id }) => {
      const im = images.find((x) => x.id === id)
      if (!im) throw Object.assign(new Error(`no image ${id}`), { name: 'NotFoundError' })
      return {
        ...im,
        path: `/data/${im.fileName}`,
        importRoot: '/data',
        hash: 'ab'.repeat(20),
        format: 'ppm',
        sizeBytes: 3100,
        groupKey: im.fileName.slice(0, 5),
        roi: null,
        importedAt: '2026-01-01T00:00:00Z'
      }
    },
    'library:stats': () => {
      const labelled = images.filter((i) => i.classId !== null).length
      const n = (s: string | null) => images.filter((i) => i.split === s).length
      return {
        images: images.length,
        labelled,
        unlabelled: images.length - labelled,
        splits: { train: n('train'), val: n('val'), test: n('test'), none: n(null) }
      }
    },
    'library:setLabel': ({ imageIds, classId }) => {
      const before = imageIds.map((id) => images.find((x) => x.id === id)?.classId ?? null)
      apply(
        imageIds,
        imageIds.map(() => classId)
      )
      undo.push({ ids: imageIds, before, after: classId })
      redo.length = 0
      emit('library-changed', { reason: 'labels' })
      return { changed: imageIds.length, canUndo: true, canRedo: false }
    },
    'library:undo': () => {
      const step = undo.pop()
      if (step) {
        apply(step.ids, step.before)
        redo.push(step)
      }
      return { changed: step?.ids.length ?? 0, canUndo: undo.length > 0, canRedo: redo.length > 0 }
    },
    'library:redo': () => {
      const step = redo.pop()
      if (step) {
        apply(
          step.ids,
          step.ids.map(() => step.after)
        )
        undo.push(step)
      }
      return { changed: step?.ids.length ?? 0, canUndo: undo.length > 0, canRedo: redo.length > 0 }
    },
    'classes:list': () => (recount(), classes.map((c) => ({ ...c }))),
    'classes:add': ({ name }) => {
      const c = { id: classes.length + 1, key: name, name, position: classes.length, count: 0 }
      classes.push(c)
      return { ...c }
    },
    'library:import': () =>
      new Promise((resolve) => {
        importResolve = (status) =>
          resolve({
            importId: 7,
            status,
            imported: 2,
            skippedDuplicates: 0,
            moved: 0,
            failed: [{ path: '/in/bad.ppm', reason: 'truncated PPM' }],
            classes: [],
            seconds: 1
          })
      }),
    'library:cancelImport': () => ({ cancelled: true }),
    'library:split': ({ val, test }) => {
      // Deterministic and per class, like the backend (without tracks): every k-th image.
      const perClass = classes.map((c) => {
        const own = images.filter((i) => i.classId === c.id)
        own.forEach((im, i) => {
          const r = (i % 20) / 20
          im.split = r < test ? 'test' : r < test + val ? 'val' : 'train'
        })
        const k = (s: string) => own.filter((i) => i.split === s).length
        return { classId: c.id, train: k('train'), val: k('val'), test: k('test') }
      })
      const sum = (s: 'train' | 'val' | 'test') => perClass.reduce((a, p) => a + p[s], 0)
      emit('library-changed', { reason: 'splits' })
      return { train: sum('train'), val: sum('val'), test: sum('test'), perClass }
    },
    'library:undoState': () => ({ canUndo: undo.length > 0, canRedo: redo.length > 0 }),
    'system:info': () => ({
      backend: 'wasm',
      onnxRuntime: true,
      cpus: 2,
      platform: 'linux',
      appVersion: '0.1.0',
      desktop: false
    }),
    'dialog:open': () => ({ supported: false, paths: [] }),
    // The backend's own defaults (pure code, no engine), so this double cannot drift from them.
    'training:defaults': ({ strategy, base }) => defaultTrainConfig(strategy, base),
    // The tutorial's table, as the backend's recommendStrategy.
    'training:recommend': ({ imagesPerClass, similar, threshold = 500 }) => {
      const large = imagesPerClass >= threshold
      const strategy: Strategy = large
        ? similar
          ? 'fine-tune'
          : 'retrain'
        : similar
          ? 'feature-extraction'
          : 'custom'
      return { strategy, reason: `${imagesPerClass} images per class is ${large ? 'large' : 'small'}` }
    },
    'training:validateBase': ({ base }) =>
      'path' in base && base.path.endsWith('.npy')
        ? { ok: true, message: 'bvlc-alexnet.npy with 8 layers', layers: ['conv1'] }
        : { ok: false, message: `not a .npy file: ${'path' in base ? base.path : ''}` },
    'training:estimate': ({ config }) => ({
      seconds: config.epochs * 30,
      trainImages: images.filter((i) => i.split === 'train').length,
      basis: 'wasm, 2 cores, measured'
    }),
    'training:start': ({ config }) => {
      if (running !== null) throw new Error(`run ${running} is still training`)
      const id = runs.length + 1
      runs.unshift({
        id,
        strategy: config.strategy,
        status: 'running',
        createdAt: '2026-01-01T00:00:00Z',
        config,
        backend: 'wasm',
        threads: null,
        epochsDone: 0,
        valAccuracy: null,
        testAccuracy: null,
        seconds: null,
        hasModel: false,
        trainImages: null,
        valImages: null,
        history: []
      })
      running = id
      return { runId: id }
    },
    'training:cancel': ({ runId }) => {
      const r = runs.find((x) => x.id === runId)
      if (!r || r.status !== 'running') return { cancelled: false }
      r.status = 'cancelled'
      running = null
      emit('training-progress', { type: 'cancelled', runId, epochsDone: r.epochsDone })
      return { cancelled: true }
    },
    'training:resume': ({ runId }) => {
      const r = runs.find((x) => x.id === runId)
      if (!r) throw Object.assign(new Error(`no run ${runId}`), { name: 'NotFoundError' })
      r.status = 'running'
      running = runId
      return { runId }
    },
    'training:list': () => runs.map((r) => structuredClone(r)),
    'training:get': ({ runId }) => {
      const r = runs.find((x) => x.id === runId)
      if (!r) throw Object.assign(new Error(`no run ${runId}`), { name: 'NotFoundError' })
      return structuredClone(r)
    },
    'training:running': () => ({ runId: running }),
    'training:evaluation': ({ runId }) => evaluations.get(runId) ?? null,
    'training:evaluate': ({ runId }) => {
      const e = evaluations.get(runId)
      if (!e) throw new Error(`memory api: no evaluation prepared for run ${runId}`)
      return e
    },
    'training:exportPreview': ({ outDir }) => ({
      files: [
        { name: 'model.json', description: 'TF.js model' },
        { name: 'model.onnx', description: 'ONNX model' }
      ],
      problem: outDir.includes('full') ? 'the folder is not empty' : null
    }),
    'training:export': ({ outDir }) => ({ dir: outDir, files: ['model.json', 'model.onnx'], onnxError: null })
  }

  return {
    images,
    classes,
    calls,
    failNext: (channel, error) => failures.set(channel, error),
    slowNext: (channel, ms) => delays.set(channel, ms),
    emit,
    finishImport: (status) => importResolve?.(status),
    runs,
    evaluations,
    async invoke<C extends Channel>(channel: C, args: HandlerArgs<C>): Promise<HandlerResult<C>> {
      calls.push({ channel, args: JSON.parse(JSON.stringify(args)) })
      const h = handlers[channel] as ((a: HandlerArgs<C>) => HandlerResult<C>) | undefined
      // Answer asynchronously, like a real transport, and check the args would survive a structured clone.
      const delay = delays.get(channel) ?? 1
      delays.delete(channel)
      structuredClone(args)
      const failure = failures.get(channel)
      failures.delete(channel)
      // The answer is computed when asked (like the backend) and delivered after the delay.
      const result = failure || !h ? undefined : h(args)
      await new Promise((r) => setTimeout(r, delay))
      if (failure) throw Object.assign(new Error(failure.message), { name: failure.name })
      if (!h) throw new Error(`memory api: ${channel} not implemented`)
      return result as HandlerResult<C>
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (p: unknown) => void)
      return () => set.delete(listener as (p: unknown) => void)
    },
    imageUrl: (id, kind) => `/media/${kind}/${id}?token=t`
  }
}

/** A progress event as the backend sends it. */
export function progress(p: Partial<ImportProgressEvent>): ImportProgressEvent {
  return {
    importId: 7,
    phase: 'importing',
    done: 0,
    total: 10,
    rate: 0,
    etaSeconds: null,
    imported: 0,
    skippedDuplicates: 0,
    failed: 0,
    ...p
  }
}

/** Wait for queued timers and promises. */
export async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms))
}
