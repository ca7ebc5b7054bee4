// The training wizard's state, kept here (not in the component) so Back and Next lose nothing and leaving the
// Train view keeps the answers: (1) the data, (2) the tutorial's two questions and the recommendation,
// (3) the base model, (4) the settings, (5) the review with a time estimate.
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import {
  TORCHVISION_ARCHS,
  type BaseModel,
  type Strategy,
  type TorchvisionArch,
  type TrainConfig
} from '@shared/training'
import { reducedConfig } from '@shared/estimate'
import { getApi } from '@renderer/api'
import { errorMessage } from './notify'
import { useClassesStore } from './classes'
import { useHubStore } from './hub'
import { useLibraryStore } from './library'
import { useTrainingStore } from './training'

export const WIZARD_STEPS = 5
/** The tutorial's "large" data set: at least this many images per class (the backend's default). */
export const DEFAULT_THRESHOLD = 500
/** Fewer training images than this in a class is worth a warning: the model can hardly learn it. */
export const FEW_IMAGES = 10

/** Strategies that start from pretrained weights and so need a base model. */
export function needsBase(strategy: Strategy): boolean {
  return strategy === 'fine-tune' || strategy === 'feature-extraction'
}

export interface ClassSplitCounts {
  classId: number
  name: string
  labelled: number
  train: number
  val: number
  test: number
}

export type Warning =
  | { kind: 'noSplit' }
  | { kind: 'unlabelled'; n: number }
  | { kind: 'fewImages'; name: string; n: number }
  | { kind: 'noVal'; name: string }
  | { kind: 'tooFewClasses'; n: number }

/** Step 3's options: a model of the hub (the default), a file or folder on the backend's machine, a run. */
export type BaseChoice = 'hub' | 'file' | 'run' | 'none'

/** What a typed or browsed base path is, by its extension; anything else is a studio model's folder. */
export type FileBaseKind = 'bvlc-npy' | 'torchvision-pth' | 'onnx' | 'studio-model'

export function fileBaseKind(path: string): FileBaseKind {
  const name = path.trim().split(/[\\/]/).pop() ?? ''
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase()
  if (ext === 'npy') return 'bvlc-npy'
  if (ext === 'pth' || ext === 'pt') return 'torchvision-pth'
  if (ext === 'onnx') return 'onnx'
  return 'studio-model'
}

/** The torchvision architecture a `.pth` file's name starts with (`resnet18-f37072fd.pth`), or null. */
export function guessArchitecture(path: string): TorchvisionArch | null {
  const name = (path.trim().split(/[\\/]/).pop() ?? '').toLowerCase()
  const longestFirst = [...TORCHVISION_ARCHS].sort((a, b) => b.length - a.length)
  return longestFirst.find((arch) => name.startsWith(arch)) ?? null
}

function median(values: number[]): number {
  if (values.length === 0) return 0
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2)
}

export const useWizardStore = defineStore('wizard', () => {
  const api = getApi()
  const library = useLibraryStore()
  const classes = useClassesStore()
  const training = useTrainingStore()
  const hub = useHubStore()

  /** Current step, 1..WIZARD_STEPS. */
  const step = ref(1)
  /** The furthest step reached since the answers it rests on last changed: the pills up to it go back there. */
  const visited = ref(1)
  /** Per-class labelled and split counts (step 1). */
  const counts = ref<ClassSplitCounts[]>([])
  const countsLoading = ref(false)
  /** Step 2: threshold between small and large, images per class (null = computed), similar to ImageNet. */
  const threshold = ref(DEFAULT_THRESHOLD)
  const imagesPerClassOverride = ref<number | null>(null)
  const similar = ref<boolean | null>(null)
  /** The backend's recommendation for the answers. */
  const recommendation = ref<{ strategy: Strategy; reason: string } | null>(null)
  /** The strategy the user picked (defaults to the recommendation). */
  const chosen = ref<Strategy | null>(null)
  /** Step 3. */
  const baseChoice = ref<BaseChoice>('hub')
  /** The hub model picked (downloaded ones only). */
  const hubId = ref<string | null>(null)
  /** A file (.npy, .pth, .onnx) or a studio model's folder on the backend's machine. */
  const filePath = ref('')
  /** The architecture of a `.pth` file: guessed from its name, else the user's pick. */
  const fileArch = ref<TorchvisionArch | null>(null)
  const baseRunId = ref<number | null>(null)
  const baseCheck = ref<{ ok: boolean; message: string } | null>(null)
  const baseChecking = ref(false)
  /** The native file dialog said it is not there (under serve): the UI asks for a typed path instead. */
  const browseUnsupported = ref(false)
  /** Step 4: the settings (from `training:defaults`, then the user's edits). */
  const config = ref<TrainConfig | null>(null)
  /** The strategy and base the settings were made for; a change reloads the defaults. */
  const configFor = ref('')
  /** Whether the Advanced settings are unfolded; kept here so Back and Next leave them as they were. */
  const advancedOpen = ref(false)
  /** Step 5. */
  const estimate = ref<Awaited<ReturnType<typeof loadEstimateOf>> | null>(null)
  const estimateError = ref<string | null>(null)
  const error = ref<string | null>(null)

  const trainCounts = computed(() => counts.value.filter((c) => c.labelled > 0).map((c) => c.train))
  const splitDone = computed(() => (library.stats ? library.stats.splits.none < library.stats.images : false))
  /** Training images per class as the tutorial's question means it: the median class. */
  const computedImagesPerClass = computed(() =>
    median(
      splitDone.value ? trainCounts.value : counts.value.filter((c) => c.labelled > 0).map((c) => c.labelled)
    )
  )
  const imagesPerClass = computed(() => imagesPerClassOverride.value ?? computedImagesPerClass.value)
  const large = computed(() => imagesPerClass.value >= threshold.value)
  const strategy = computed<Strategy | null>(() => chosen.value ?? recommendation.value?.strategy ?? null)

  const warnings = computed<Warning[]>(() => {
    const out: Warning[] = []
    const labelled = counts.value.filter((c) => c.labelled > 0)
    if (labelled.length < 2) out.push({ kind: 'tooFewClasses', n: labelled.length })
    if (!splitDone.value) out.push({ kind: 'noSplit' })
    const unl = library.stats?.unlabelled ?? 0
    if (unl > 0) out.push({ kind: 'unlabelled', n: unl })
    for (const c of labelled) {
      const n = splitDone.value ? c.train : c.labelled
      if (n < FEW_IMAGES) out.push({ kind: 'fewImages', name: c.name, n })
      if (splitDone.value && c.val === 0) out.push({ kind: 'noVal', name: c.name })
    }
    return out
  })
  /** Problems that make training impossible (the backend would refuse). */
  const blocking = computed(() =>
    warnings.value.some((w) => w.kind === 'noSplit' || w.kind === 'tooFewClasses')
  )

  const fileKind = computed<FileBaseKind>(() => fileBaseKind(filePath.value))

  /** The base as the backend wants it; strategies that train from scratch take none. */
  const base = computed<BaseModel>(() => {
    if (!strategy.value || !needsBase(strategy.value)) return { kind: 'none' }
    if (baseChoice.value === 'hub' && hubId.value !== null) return { kind: 'hub', id: hubId.value }
    const path = filePath.value.trim()
    if (baseChoice.value === 'file' && path) {
      switch (fileKind.value) {
        case 'torchvision-pth':
          return fileArch.value
            ? { kind: 'torchvision-pth', path, architecture: fileArch.value }
            : { kind: 'none' }
        case 'bvlc-npy':
        case 'onnx':
        case 'studio-model':
          return { kind: fileKind.value, path }
      }
    }
    if (baseChoice.value === 'run' && baseRunId.value !== null) {
      // A run is named by its id; the backend finds its model folder (no server path reaches the page).
      const run = training.runs.find((r) => r.id === baseRunId.value)
      if (run?.hasModel) return { kind: 'run', runId: run.id }
    }
    return { kind: 'none' }
  })
  /** Whether step 3 is complete: a base that checked out, or none where none is allowed. */
  const baseReady = computed(() => {
    if (!strategy.value) return false
    if (!needsBase(strategy.value)) return true
    if (baseChoice.value === 'none') return false
    if (baseChoice.value === 'run') return base.value.kind === 'run' && baseCheck.value?.ok !== false
    return base.value.kind !== 'none' && baseCheck.value?.ok === true
  })

  /** Whether step `n`'s answers are complete, so that the steps after it can be shown. */
  function stepComplete(n: number): boolean {
    switch (n) {
      case 1:
        return !blocking.value
      case 2:
        return strategy.value !== null && similar.value !== null
      case 3:
        return baseReady.value
      case 4:
        return config.value !== null && !configProblem.value
      default:
        return false
    }
  }
  const canNext = computed(() => stepComplete(step.value))
  /** Whether a step pill leads somewhere: a step visited before, with every step before it complete. */
  function reachable(n: number): boolean {
    if (n < 1 || n > visited.value) return false
    for (let k = 1; k < n; k++) if (!stepComplete(k)) return false
    return true
  }
  const configProblem = computed(() => {
    const c = config.value
    if (!c) return null
    if (!(c.epochs >= 1)) return 'epochs'
    if (!(c.batchSize >= 1)) return 'batchSize'
    if (!(c.learningRate > 0)) return 'learningRate'
    return null
  })

  async function countsFor(classId: number): Promise<{ train: number; val: number; test: number }> {
    const total = (split: 'train' | 'val' | 'test') =>
      api
        .invoke('library:query', { filter: { classIds: [classId], split }, offset: 0, limit: 1 })
        .then((p) => p.total)
    const [train, val, test] = await Promise.all([total('train'), total('val'), total('test')])
    return { train, val, test }
  }

  /** Step 1's numbers: labelled counts from the class list, split counts from the last split or queries. */
  async function loadData(): Promise<void> {
    countsLoading.value = true
    error.value = null
    try {
      await Promise.all([classes.load(), library.loadStats()])
      const last = library.lastSplit ? new Map(library.lastSplit.perClass.map((p) => [p.classId, p])) : null
      counts.value = await Promise.all(
        classes.list.map(async (c) => {
          const s = last?.get(c.id) ?? (c.count > 0 ? await countsFor(c.id) : { train: 0, val: 0, test: 0 })
          return { classId: c.id, name: c.name, labelled: c.count, train: s.train, val: s.val, test: s.test }
        })
      )
    } catch (e) {
      error.value = errorMessage(e)
    } finally {
      countsLoading.value = false
    }
  }

  async function recommend(): Promise<void> {
    if (similar.value === null) {
      recommendation.value = null
      return
    }
    try {
      recommendation.value = await api.invoke('training:recommend', {
        imagesPerClass: imagesPerClass.value,
        similar: similar.value,
        threshold: threshold.value
      })
    } catch (e) {
      error.value = errorMessage(e)
    }
  }
  watch([imagesPerClass, similar, threshold], () => void recommend())
  /** Numbers the checks so that only the latest one's answer is shown. */
  let checkSeq = 0
  // A `.pth` file's name usually says its architecture (torchvision's own files do).
  watch(filePath, (path) => {
    if (fileBaseKind(path) !== 'torchvision-pth') return
    const guess = guessArchitecture(path)
    if (guess) fileArch.value = guess
  })
  // A hub model or a run picked as the base is checked at once, like a file (its weights must be there and
  // fit the strategy); so is the current choice again when the strategy changes. A typed path is checked on
  // change, Enter or Check.
  watch([baseChoice, baseRunId, hubId, fileArch, strategy], () => {
    checkSeq++
    baseCheck.value = null
    baseChecking.value = false
    if (base.value.kind !== 'none') void validateBase()
  })

  async function validateBase(): Promise<void> {
    const b = base.value
    if (b.kind === 'none' || ('path' in b && !b.path)) {
      checkSeq++
      baseCheck.value = null
      baseChecking.value = false
      return
    }
    const seq = ++checkSeq
    baseChecking.value = true
    try {
      const s = strategy.value
      const r = await api.invoke(
        'training:validateBase',
        s ? { base: { ...b }, strategy: s } : { base: { ...b } }
      )
      // Worded in the UI's language when the backend sent the catalogue's code (src/shared/messages).
      if (seq === checkSeq) baseCheck.value = { ok: r.ok, message: errorMessage(r) }
    } catch (e) {
      if (seq === checkSeq) baseCheck.value = { ok: false, message: errorMessage(e) }
    } finally {
      if (seq === checkSeq) baseChecking.value = false
    }
  }

  /** A native file dialog in the desktop app; false under serve (the UI then asks for a typed path). */
  async function browseBase(): Promise<boolean> {
    try {
      const r = await api.invoke('dialog:open', {
        kind: 'file',
        filters: [
          { name: 'Model weights', extensions: ['npy', 'pth', 'pt', 'onnx'] },
          { name: 'NumPy (BVLC AlexNet)', extensions: ['npy'] },
          { name: 'PyTorch (torchvision)', extensions: ['pth', 'pt'] },
          { name: 'ONNX', extensions: ['onnx'] }
        ]
      })
      if (!r.supported) {
        browseUnsupported.value = true
        return false
      }
      if (r.paths[0]) {
        filePath.value = r.paths[0]
        baseChoice.value = 'file'
        await validateBase()
      }
      return true
    } catch {
      browseUnsupported.value = true
      return false
    }
  }

  /**
   * Download a hub model; when it is in the cache, pick it as the base unless the user chose another base
   * meanwhile. The model, or null when the download failed or was cancelled (the hub store says why).
   */
  async function downloadHub(id: string) {
    const before = JSON.stringify([baseChoice.value, hubId.value])
    const model = await hub.download(id)
    if (model?.downloaded && JSON.stringify([baseChoice.value, hubId.value]) === before) {
      baseChoice.value = 'hub'
      hubId.value = id
    }
    return model
  }

  /** Pick a downloaded hub model as the base (the watcher checks it). */
  function selectHub(id: string): void {
    baseChoice.value = 'hub'
    hubId.value = id
  }

  const settingsKey = (): string => JSON.stringify([strategy.value, base.value, baseRunId.value])

  /** Load defaults for the chosen strategy and base, unless the settings were made for them already. */
  async function loadDefaults(force = false): Promise<void> {
    const s = strategy.value
    if (!s) return
    const key = settingsKey()
    if (!force && config.value && configFor.value === key) return
    // Settings made for another strategy or base are not shown (nor editable) while the new ones load.
    if (configFor.value !== key) {
      config.value = null
      configFor.value = ''
    }
    try {
      const c = await api.invoke('training:defaults', { strategy: s, base: { ...base.value } })
      // A model trained here as the base: its size decides the new model's size.
      const run = baseChoice.value === 'run' ? await baseRun() : null
      if (run && c.model.architecture === run.config.model.architecture) {
        c.model = { ...run.config.model }
        c.preprocessing = { ...run.config.preprocessing }
      }
      if (settingsKey() !== key) return // the choice changed meanwhile: its own load fills the settings
      config.value = c
      configFor.value = key
    } catch (e) {
      error.value = errorMessage(e)
    }
  }
  async function baseRun() {
    if (baseRunId.value === null) return null
    return api.invoke('training:get', { runId: baseRunId.value }).catch(() => null)
  }

  function loadEstimateOf(c: TrainConfig) {
    return api.invoke('training:estimate', { config: JSON.parse(JSON.stringify(c)) })
  }
  /** Numbers the estimates so that only the latest config's answer is shown. */
  let estimateSeq = 0
  async function loadEstimate(): Promise<void> {
    const seq = ++estimateSeq
    estimate.value = null
    estimateError.value = null
    if (!config.value) return
    try {
      const r = await loadEstimateOf(config.value)
      if (seq === estimateSeq) estimate.value = r
    } catch (e) {
      if (seq === estimateSeq) estimateError.value = errorMessage(e)
    }
  }

  /** The smaller setting the long-run warning offers for the current settings, or null (shared/estimate.ts). */
  const reduced = computed<TrainConfig | null>(() => (config.value ? reducedConfig(config.value) : null))
  /** One click from the long-run warning: the reduced setting, and its estimate. */
  async function useReduced(): Promise<void> {
    if (!reduced.value) return
    config.value = reduced.value
    await loadEstimate()
  }

  /** The config to start: the settings with the chosen base. */
  const finalConfig = computed<TrainConfig | null>(() =>
    config.value ? { ...config.value, base: { ...base.value } } : null
  )

  async function next(): Promise<void> {
    if (!canNext.value || step.value >= WIZARD_STEPS) return
    if (step.value === 2 && strategy.value) pick(strategy.value)
    step.value++
    visited.value = Math.max(visited.value, step.value)
    await enter()
  }
  function back(): void {
    if (step.value > 1) step.value--
  }
  /** Show step `n` (the caller decides whether it may: the pills ask `reachable` first). */
  async function goTo(n: number): Promise<void> {
    if (n < 1 || n > WIZARD_STEPS) return
    step.value = n
    visited.value = Math.max(visited.value, n)
    await enter()
  }
  /** A step pill: a step visited before whose earlier steps are complete; anything else does nothing. */
  async function goToVisited(n: number): Promise<void> {
    if (n !== step.value && reachable(n)) await goTo(n)
  }
  // A new strategy or base makes the later steps' settings stale: their pills wait until Next reaches them.
  watch(
    () => JSON.stringify([strategy.value, base.value]),
    () => {
      visited.value = Math.min(visited.value, Math.max(step.value, 3))
    }
  )
  // A start error belongs to the Review it happened on: leaving Review (or starting over) drops it.
  watch(step, (n) => {
    if (n !== WIZARD_STEPS) training.error = null
  })
  async function enter(): Promise<void> {
    if (step.value === 1) await loadData()
    if (step.value === 2 && !recommendation.value) await recommend()
    if (step.value === 4) await loadDefaults()
    if (step.value === 5) await loadEstimate()
  }

  function pick(s: Strategy): void {
    chosen.value = s
    // Strategies 1 and 3 need a base; 2 and 4 train from random weights and take none.
    if (needsBase(s) && baseChoice.value === 'none') baseChoice.value = 'hub'
    if (!needsBase(s)) baseChoice.value = 'none'
  }

  /**
   * After a run started, "New run" begins here: step 1 (the data as it is now), fresh default settings, no
   * estimate or error of the previous run. The answers about the data and the strategy and base picked are
   * kept (their pills, 2 and 3, lead back to them), because a next run is most often a variation of the last
   * (another base, another strategy) on the same data, and those answers describe the data, which has not
   * changed; the settings are not kept, since they are what each run varies and a stale one (hours of
   * AlexNet) is what a newcomer should not inherit.
   */
  function startOver(): void {
    step.value = 1
    visited.value = strategy.value ? 3 : 1
    config.value = null
    configFor.value = ''
    advancedOpen.value = false
    estimate.value = null
    estimateError.value = null
    error.value = null
    training.error = null
  }

  /** Forget everything (another project): step 1, no answers, no settings, no errors. */
  function reset(): void {
    step.value = 1
    visited.value = 1
    counts.value = []
    threshold.value = DEFAULT_THRESHOLD
    imagesPerClassOverride.value = null
    similar.value = null
    recommendation.value = null
    chosen.value = null
    baseChoice.value = 'hub'
    hubId.value = null
    filePath.value = ''
    fileArch.value = null
    baseRunId.value = null
    baseCheck.value = null
    config.value = null
    configFor.value = ''
    advancedOpen.value = false
    estimate.value = null
    estimateError.value = null
    error.value = null
    training.error = null
  }

  return {
    step,
    visited,
    counts,
    countsLoading,
    threshold,
    imagesPerClassOverride,
    similar,
    recommendation,
    chosen,
    strategy,
    baseChoice,
    hubId,
    filePath,
    fileArch,
    fileKind,
    baseRunId,
    baseCheck,
    baseChecking,
    browseUnsupported,
    config,
    advancedOpen,
    estimate,
    estimateError,
    error,
    splitDone,
    computedImagesPerClass,
    imagesPerClass,
    large,
    warnings,
    blocking,
    base,
    baseReady,
    canNext,
    reachable,
    reduced,
    useReduced,
    configProblem,
    finalConfig,
    loadData,
    recommend,
    validateBase,
    browseBase,
    downloadHub,
    selectHub,
    loadDefaults,
    loadEstimate,
    next,
    back,
    goTo,
    goToVisited,
    enter,
    pick,
    startOver,
    reset
  }
})
