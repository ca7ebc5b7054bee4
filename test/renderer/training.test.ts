// @vitest-environment happy-dom
// The training UI against the in-memory API: the training store replaying a REAL recorded event sequence
// (fixtures/recordedRun.json, captured from TrainingService on 4 GTSRB classes), the chart's series as
// events arrive, the confusion matrix, the wizard (Back keeps answers, the recommendation is shown), and
// relabelling a misclassified image from the keyboard.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import type { RunSummary, TrainingEvent } from '@shared/training'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { liveFromSummary, useTrainingStore } from '@renderer/stores/training'
import { useWizardStore } from '@renderer/stores/wizard'
import { useProjectStore } from '@renderer/stores/project'
import { useClassesStore } from '@renderer/stores/classes'
import { useLibraryStore } from '@renderer/stores/library'
import { useNavStore } from '@renderer/stores/nav'
import TrainingChart from '@renderer/components/train/TrainingChart.vue'
import TrainingDashboard from '@renderer/components/train/TrainingDashboard.vue'
import RunsView from '@renderer/components/runs/RunsView.vue'
import ConfusionMatrix from '@renderer/components/runs/ConfusionMatrix.vue'
import TrainWizard from '@renderer/components/train/TrainWizard.vue'
import EvaluationView from '@renderer/components/runs/EvaluationView.vue'
import recorded from './fixtures/recordedRun.json'
import { defaultTrainConfig } from '../../src/main/ml/train/config'
import { createMemoryApi, settle, type MemoryApi } from './memoryApi'

const events = recorded.events as TrainingEvent[]
const summary = recorded.summary as unknown as RunSummary

/** Records the option each render hands to ECharts (no canvas in happy-dom). */
const options: { series: { name: string; data: [number, number][] }[] }[] = []
const ChartStub = defineComponent({
  // eslint-disable-next-line vue/multi-word-component-names -- vue-echarts' own name, which the stub replaces
  name: 'Echarts',
  props: { option: { type: Object, required: true } },
  setup(props) {
    return () => {
      options.push(JSON.parse(JSON.stringify(props.option)))
      return h('div', { class: 'chart-stub' })
    }
  }
})

let wrapper: VueWrapper | null = null
let api: MemoryApi
let pinia: ReturnType<typeof createPinia>
beforeEach(() => {
  options.length = 0
  api = createMemoryApi({
    images: 120,
    classes: ['Speed limit (30km/h)', 'Yield', 'Stop', 'No entry'],
    labelled: (i) => (i < 112 ? (i % 4) + 1 : null)
  })
  setApi(api)
  pinia = createPinia()
  setActivePinia(pinia)
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
})

function mountWith<T>(component: T, props: Record<string, unknown> = {}) {
  wrapper = mount(component as never, {
    props: props as never,
    global: { plugins: [pinia, createAppI18n('en')], stubs: { Echarts: ChartStub } },
    attachTo: document.body
  })
  return wrapper
}

describe('training store', () => {
  it('replays a recorded run into live state that matches what the backend stored', () => {
    const training = useTrainingStore()
    for (const e of events) training.onEvent(e)
    const live = training.live.get(summary.id)!
    expect(live.status).toBe('completed')
    expect(live.backend).toBe('wasm')
    expect(live.trainImages).toBe(
      (events.find((e) => e.type === 'started') as { trainImages: number }).trainImages
    )
    // One point per batch event, at fractional epochs, ending at the last epoch.
    const batches = events.filter((e) => e.type === 'batch')
    expect(live.batches).toHaveLength(batches.length)
    expect(live.batches.at(-1)!.x).toBeCloseTo(summary.config.epochs, 6)
    expect(live.batches[0].loss).toBe((batches[0] as { loss: number }).loss)
    // The per-epoch curve equals the history the backend stored for the run.
    expect(live.history.map((h) => h.epoch)).toEqual(summary.history.map((h) => h.epoch))
    for (const [i, h] of live.history.entries()) {
      expect(h.trainLoss).toBeCloseTo(summary.history[i].trainLoss, 6)
      expect(h.valAccuracy).toBeCloseTo(summary.history[i].valAccuracy!, 6)
    }
    expect(live.valAccuracy).toBe(summary.valAccuracy)
    expect(training.runningId).toBeNull()
  })

  it('restores the threads of a stored run (after a reload), and one thread when none was stored', () => {
    expect(liveFromSummary({ ...summary, threads: 2 }).threads).toBe(2)
    expect(liveFromSummary({ ...summary, threads: null }).threads).toBe(1)
  })

  it('marks a running run and clears it on failure, keeping the message', () => {
    const training = useTrainingStore()
    const started = events.find((e) => e.type === 'started')!
    training.onEvent({ ...started, runId: 9 })
    training.onEvent({ ...(events.find((e) => e.type === 'batch') as TrainingEvent), runId: 9 })
    expect(training.runningId).toBe(9)
    training.onEvent({ type: 'failed', runId: 9, error: { name: 'Error', message: 'out of memory' } })
    expect(training.runningId).toBeNull()
    expect(training.live.get(9)!.status).toBe('failed')
    expect(training.live.get(9)!.error).toBe('out of memory')
  })
})

describe('training chart', () => {
  it('hands ECharts new series data as events arrive', async () => {
    const training = useTrainingStore()
    training.watchedId = summary.id
    const w = mountWith(TrainingDashboard)
    await flushPromises()
    const seriesLen = (name: string) => options.at(-1)!.series.find((s) => s.name === name)?.data.length ?? 0
    const firstEpoch = events.findIndex((e) => e.type === 'epoch')
    for (const e of events.slice(0, firstEpoch)) training.onEvent(e)
    await flushPromises()
    expect(seriesLen('per batch')).toBe(events.slice(0, firstEpoch).filter((e) => e.type === 'batch').length)
    expect(seriesLen('train')).toBe(0)
    for (const e of events.slice(firstEpoch)) training.onEvent(e)
    await flushPromises()
    expect(seriesLen('train')).toBe(summary.history.length)
    expect(seriesLen('validation')).toBe(summary.history.length)
    // Accuracy chart points are accuracies (0..1), the loss chart's the recorded losses.
    const acc = w.find('[data-test="chart-accuracy"]')
    expect(Number(acc.attributes('data-points'))).toBe(
      events.filter((e) => e.type === 'batch').length + 2 * summary.history.length
    )
    expect(w.find('[data-test="run-status"]').text()).toBe('Completed')
    expect(w.find('[data-test="backend"]').text()).toContain('WebAssembly (SIMD)')
    expect(w.find('[role="progressbar"]').attributes('aria-valuenow')).toBe('100')
    expect(w.find('[data-test="see-results"]').text()).toBe('See the results')
  })

  it('overlays several runs with one legend entry per run and curve', async () => {
    const set = (label: string) => ({ label, history: summary.history, batches: [] })
    const w = mountWith(TrainingChart, { kind: 'loss', sets: [set('#1')] })
    await flushPromises()
    expect(options.at(-1)!.series.map((s) => s.name)).toEqual(['train', 'validation'])
    await w.setProps({ kind: 'loss', sets: [set('#1'), set('#2')] })
    expect(options.at(-1)!.series.map((s) => s.name)).toEqual([
      '#1 train',
      '#1 validation',
      '#2 train',
      '#2 validation'
    ])
    expect(options.at(-1)!.series[0].data[0]).toEqual([1, summary.history[0].trainLoss])
  })
})

describe('confusion matrix', () => {
  it('shows counts in cells and emits the (label, predicted) pair of a clicked cell', async () => {
    const names = new Map([
      [3, 'Stop'],
      [4, 'No entry'],
      [7, 'Yield']
    ])
    const w = mountWith(ConfusionMatrix, {
      classIds: [3, 4, 7],
      confusion: [
        [5, 2, 0],
        [1, 6, 0],
        [0, 0, 4]
      ],
      names
    })
    const cells = w.findAll('[data-test="matrix-cell"]')
    expect(cells.map((c) => c.text())).toEqual(['5', '2', '', '1', '6', '', '', '', '4'])
    expect(cells[1].attributes('title')).toBe('2 images labelled Stop, predicted No entry')
    await cells[3].trigger('click')
    expect(w.emitted('select')).toEqual([[{ label: 4, predicted: 3 }]])
  })
})

describe('wizard', () => {
  async function mountWizard() {
    useProjectStore().current = { path: '/tmp/p.tsproj', name: 'p', schemaVersion: 1, thumbnailDir: '/tmp/t' }
    const w = mountWith(TrainWizard)
    await vi.waitFor(() => expect(w.find('[data-test="data-table"]').exists()).toBe(true))
    await settle()
    return w
  }

  /** A split library, "similar" answered, and the recommendation (feature extraction) shown. */
  async function atRecommendation() {
    await api.invoke('library:split', { val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
    const w = await mountWizard()
    const wizard = useWizardStore()
    wizard.similar = true
    await wizard.next()
    await vi.waitFor(() => expect(wizard.strategy).toBe('feature-extraction'))
    return { w, wizard }
  }

  it('warns about a missing split and unlabelled images, then allows Next after splitting', async () => {
    const w = await mountWizard()
    const warnings = w.find('[data-test="warnings"]').text()
    expect(warnings).toContain('No split yet')
    expect(warnings).toContain('8 images have no label')
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeDefined()
    await useWizardStore().loadData()
    await api.invoke('library:split', { val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
    await useWizardStore().loadData()
    await flushPromises()
    expect(w.find('[data-test="warnings"]').text()).not.toContain('No split yet')
    const rows = w
      .findAll('[data-test="data-table"] tbody tr')
      .map((r) => r.findAll('td').map((c) => c.text()))
    expect(rows[0]).toEqual(['Speed limit (30km/h)', '28', '12', '8', '8'])
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeUndefined()
  })

  it('shows the recommendation for the answers, and Back keeps every answer and setting', async () => {
    await api.invoke('library:split', { val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
    const w = await mountWizard()
    const wizard = useWizardStore()
    await w.find('[data-test="wizard-next"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-test="step-questions"]').text()).toContain('median of 12 training images')
    await w.find('[data-test="similar-yes"]').setValue(true)
    await vi.waitFor(() => expect(w.find('[data-test="recommendation"]').exists()).toBe(true))
    const recommended = w.find('.cell.recommended')
    expect(recommended.attributes('data-strategy')).toBe('feature-extraction')
    expect(w.find('[data-test="recommendation"]').text()).toContain(
      'Recommended: Feature extraction, because with only 12'
    )
    // Raising the count past the threshold moves the recommendation to fine-tuning.
    await w.find('[data-test="images-per-class"]').setValue('800')
    await vi.waitFor(() => expect(w.find('.cell.recommended').attributes('data-strategy')).toBe('fine-tune'))
    await w.find('[data-test="images-per-class"]').setValue('12')
    await vi.waitFor(() =>
      expect(w.find('.cell.recommended').attributes('data-strategy')).toBe('feature-extraction')
    )
    // Pick another cell than the recommended one: allowed.
    await w.find('[data-strategy="custom"]').trigger('click')
    await w.find('[data-test="wizard-next"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-test="step-base"]').text()).toContain('no base model is used')
    await w.find('[data-test="wizard-next"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="set-epochs"]').exists()).toBe(true))
    await w.find('[data-test="set-epochs"]').setValue('3')
    await w.find('[data-test="set-epochs"]').trigger('change')
    expect(wizard.config!.epochs).toBe(3)
    // Back twice, forward twice: the answers and the edited setting are still there.
    await w.find('[data-test="wizard-back"]').trigger('click')
    await w.find('[data-test="wizard-back"]').trigger('click')
    expect((w.find('[data-test="similar-yes"]').element as HTMLInputElement).checked).toBe(true)
    expect(w.find('.cell.picked').attributes('data-strategy')).toBe('custom')
    await w.find('[data-test="wizard-next"]').trigger('click')
    await w.find('[data-test="wizard-next"]').trigger('click')
    await flushPromises()
    expect((w.find('[data-test="set-epochs"]').element as HTMLInputElement).value).toBe('3')
    await w.find('[data-test="wizard-next"]').trigger('click')
    await vi.waitFor(() =>
      expect(w.find('[data-test="estimate"]').text()).toContain('about 2 min on WebAssembly (SIMD), 2 cores')
    )
    await w.find('[data-test="wizard-start"]').trigger('click')
    await vi.waitFor(() => expect(api.calls.some((c) => c.channel === 'training:start')).toBe(true))
    const started = api.calls.find((c) => c.channel === 'training:start')!.args as {
      config: { epochs: number; strategy: string }
    }
    expect(started.config.epochs).toBe(3)
    expect(started.config.strategy).toBe('custom')
  })

  it("shows no other strategy's settings while the chosen strategy's defaults load", async () => {
    const { w, wizard } = await atRecommendation()
    wizard.pick('fine-tune')
    await wizard.goTo(4)
    await flushPromises()
    const epochs = () => w.find('[data-test="set-epochs"]')
    expect((epochs().element as HTMLInputElement).value).toBe(String(defaultTrainConfig('fine-tune').epochs))
    // Pick the compact CNN; its defaults answer slowly. Meanwhile the pane says it is loading.
    wizard.pick('custom')
    api.slowNext('training:defaults', 200)
    const entering = wizard.goTo(4)
    await flushPromises()
    expect(epochs().exists()).toBe(false)
    expect(w.find('[data-test="step-settings"]').text()).toContain('Loading')
    await entering
    await flushPromises()
    expect((epochs().element as HTMLInputElement).value).toBe(String(defaultTrainConfig('custom').epochs))
  })

  it('requires a checked base for feature extraction and shows the check message', async () => {
    const { w, wizard } = await atRecommendation()
    await wizard.next()
    await flushPromises()
    expect(w.find('[data-test="step-base"]').text()).toContain('needs a base model')
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeDefined()
    await w.find('[data-test="base-path"]').setValue('/models/weights.bin')
    await w.find('[data-test="base-path"]').trigger('change')
    await vi.waitFor(() =>
      expect(w.find('[data-test="base-message"]').text()).toBe('not a .npy file: /models/weights.bin')
    )
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeDefined()
    // Under serve there is no native dialog: no Browse button, and the hint says to type the path.
    expect(w.find('[data-test="base-browse"]').exists()).toBe(false)
    expect(w.text()).toContain('type the path there')
    await w.find('[data-test="base-path"]').setValue('/models/bvlc-alexnet.npy')
    await w.find('[data-test="base-path"]').trigger('change')
    await vi.waitFor(() => expect(w.find('[data-test="base-message"]').classes()).toContain('ok'))
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeUndefined()
  })
})

describe('evaluation view', () => {
  it('relabels the focused misclassified image with a class key, and accepts a prediction with Enter', async () => {
    api.runs.push({ ...summary, id: 1, status: 'completed', config: defaultTrainConfig('custom') })
    api.evaluations.set(1, {
      images: 10,
      accuracy: 0.8,
      top5Accuracy: 1,
      classIds: [1, 2],
      confusion: [
        [4, 1],
        [1, 4]
      ],
      perClass: [
        { classId: 1, name: 'Speed limit (30km/h)', precision: 0.8, recall: 0.8, support: 5 },
        { classId: 2, name: 'Yield', precision: 0.8, recall: 0.8, support: 5 }
      ],
      misclassified: [
        { imageId: 5, path: '/a/5.ppm', labelClassId: 1, predictedClassId: 2, confidence: 0.7 },
        { imageId: 6, path: '/a/6.ppm', labelClassId: 2, predictedClassId: 1, confidence: 0.6 }
      ],
      failed: []
    })
    const training = useTrainingStore()
    await training.loadRuns()
    await useClassesStore().load()
    const w = mountWith(EvaluationView, { runId: 1 })
    await vi.waitFor(() => expect(w.findAll('[data-test="wrong"]')).toHaveLength(2))
    expect(w.find('[data-test="accuracy"]').text()).toBe('80.0 %')
    const first = w.find('[data-test="wrong"]').element as HTMLElement
    first.focus()
    first.dispatchEvent(new KeyboardEvent('keydown', { key: '3', bubbles: true }))
    await vi.waitFor(() => expect(api.images.find((i) => i.id === 5)!.classId).toBe(3))
    await vi.waitFor(() => expect(w.find('[data-test="fixed"]').text()).toBe('Now labelled Stop'))
    // Focus moved to the second; Enter accepts its prediction (class 1).
    const second = w.findAll('[data-test="wrong"]')[1].element as HTMLElement
    second.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await vi.waitFor(() => expect(api.images.find((i) => i.id === 6)!.classId).toBe(1))
  })
})

describe('dashboard controls', () => {
  it('cancels a running run, then resumes it from the dashboard', async () => {
    const training = useTrainingStore()
    const runId = await training.start(defaultTrainConfig('custom'))
    expect(runId).toBe(1)
    const w = mountWith(TrainingDashboard)
    training.onEvent({ ...(events.find((e) => e.type === 'started') as TrainingEvent), runId: 1 })
    await flushPromises()
    expect(w.find('[data-test="resume-run"]').exists()).toBe(false)
    await w.find('[data-test="cancel-run"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="run-status"]').text()).toBe('Cancelled'))
    expect(w.find('[data-test="cancel-run"]').exists()).toBe(false)
    await w.find('[data-test="resume-run"]').trigger('click')
    await vi.waitFor(() => expect(api.calls.some((c) => c.channel === 'training:resume')).toBe(true))
    expect(api.runs[0].status).toBe('running')
    await vi.waitFor(() => expect(w.find('[data-test="cancel-run"]').exists()).toBe(true))
  })
})

describe('dashboard threads', () => {
  const started = events.find((e) => e.type === 'started') as Extract<TrainingEvent, { type: 'started' }>

  /** The dashboard's "Runs on" text after the recorded 'started' event, with `threads` set or left out. */
  async function backendText(threads?: number): Promise<string> {
    const training = useTrainingStore()
    training.watchedId = started.runId
    const w = mountWith(TrainingDashboard)
    training.onEvent(threads === undefined ? started : { ...started, threads })
    await flushPromises()
    return w.find('[data-test="backend"]').text()
  }

  it('shows the thread count beside the backend when training runs data-parallel', async () => {
    expect(await backendText(2)).toBe('WebAssembly (SIMD) · 2 threads')
    expect(useTrainingStore().live.get(started.runId)!.threads).toBe(2)
  })

  it.each([1, undefined])('shows no thread count when threads is %s', async (threads) => {
    expect(await backendText(threads)).toBe('WebAssembly (SIMD)')
    expect(useTrainingStore().live.get(started.runId)!.threads).toBe(1)
  })
  it("puts threads and the machine's cores in one phrase when both are known", async () => {
    const system = {
      backend: null,
      onnxRuntime: true,
      cpus: 2,
      platform: 'linux',
      appVersion: '0',
      desktop: false
    }
    useTrainingStore().system = { ...system }
    expect(await backendText(2)).toBe('WebAssembly (SIMD) · 2 threads on 2 cores')
    useTrainingStore().system = { ...system }
    expect(await backendText(1)).toBe('WebAssembly (SIMD) · 2 cores')
  })
})

describe('runs table actions', () => {
  it('offers Results, Watch or Resume by each run’s status, and each leads where it should', async () => {
    for (const [id, status] of [
      [1, 'completed'],
      [2, 'running'],
      [3, 'failed']
    ] as const)
      api.runs.push({ ...summary, id, status, config: defaultTrainConfig('custom') })
    const training = useTrainingStore()
    const nav = useNavStore()
    nav.go('runs')
    const w = mountWith(RunsView)
    await vi.waitFor(() => expect(w.findAll('[data-test="run-row"]')).toHaveLength(3))
    const actions = (id: number) => w.find(`[data-run-id="${id}"] .actions`)
    const labels = (id: number) =>
      actions(id)
        .findAll('button')
        .map((b) => b.text())
    expect(labels(1)).toEqual(['Results'])
    expect(labels(2)).toEqual(['Watch'])
    expect(labels(3)).toEqual(['Resume'])
    expect(actions(1).find('button').classes()).toEqual(expect.arrayContaining(['btn', 'small', 'primary']))

    await actions(2).find('[data-test="watch-run"]').trigger('click')
    expect(training.watchedId).toBe(2)
    expect([nav.view, nav.trainPane]).toEqual(['train', 'dashboard'])

    nav.go('runs')
    await actions(3).find('[data-test="resume-run"]').trigger('click')
    await vi.waitFor(() => expect(nav.view).toBe('train'))
    expect(api.calls.filter((c) => c.channel === 'training:resume').map((c) => c.args)).toEqual([
      { runId: 3 }
    ])
    expect(training.watchedId).toBe(3)

    nav.go('runs')
    await actions(1).find('[data-test="open-run"]').trigger('click')
    expect(nav.resultRunId).toBe(1)
  })
})

describe('library predictions', () => {
  it('asks for a run’s predictions, the disagreement filter and confidence order, and turns them off', async () => {
    api.images.forEach((im, i) => {
      im.predictedClassId = i % 3 === 0 ? 2 : im.classId
      im.confidence = (i % 10) / 10
    })
    const library = useLibraryStore()
    library.showPredictions(4, true)
    library.setSort({ key: 'confidence', descending: false })
    await vi.waitFor(() => expect(library.ready).toBe(true))
    await settle()
    const last = api.calls.filter((c) => c.channel === 'library:query').at(-1)!.args as {
      runId?: number
      filter: { disagreesWithRun?: number }
      sort: { key: string }
    }
    expect(last).toMatchObject({ runId: 4, filter: { disagreesWithRun: 4 }, sort: { key: 'confidence' } })
    expect(library.total).toBe(api.images.filter((im) => im.predictedClassId !== im.classId).length)
    expect(library.filterActive).toBe(true)
    library.showPredictions(null)
    await settle()
    const off = api.calls.filter((c) => c.channel === 'library:query').at(-1)!.args as Record<string, unknown>
    expect(off.runId).toBeUndefined()
    expect(off.sort).toEqual({ key: 'id', descending: false })
    expect(library.total).toBe(api.images.length)
  })
})
