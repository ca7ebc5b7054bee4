// @vitest-environment happy-dom
// The training UI against the real backend on copies of two real projects (112 labelled GTSRB frames of 4
// signs and 8 unlabelled; one of them split and holding a completed, evaluated compact-CNN run): the training
// store replaying a REAL recorded event sequence (fixtures/recordedRun.json, captured from TrainingService on
// 4 GTSRB classes), the chart's series as events arrive, the confusion matrix, the wizard (Back keeps answers,
// the recommendation is shown, a base is checked), real runs cancelled and resumed from the dashboard and the
// runs table, and relabelling a misclassified image from the keyboard.
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
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
import {
  buildProject,
  createRealApi,
  labelsOf,
  settle,
  type BuiltProject,
  type RealApi
} from './backend/realApi'

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

const BASE_NPY = resolve(__dirname, '../fixtures/alexnet-bvlc/reduced-alexnet.npy')

let imported: BuiltProject
let trained: BuiltProject
beforeAll(async () => {
  ;[imported, trained] = await Promise.all([
    buildProject({ perClass: 28, unlabelled: 8 }),
    buildProject({ perClass: 28, unlabelled: 8, train: {}, evaluate: true })
  ])
})
afterAll(() => {
  imported?.remove()
  trained?.remove()
})

let wrapper: VueWrapper | null = null
let api: RealApi
let pinia: ReturnType<typeof createPinia>

/** A fresh backend on a copy of `project`, and a fresh Pinia on it. */
async function open(project: BuiltProject): Promise<RealApi> {
  await api?.dispose()
  api = await createRealApi({ from: project.path })
  setApi(api)
  pinia = createPinia()
  setActivePinia(pinia)
  return api
}

beforeEach(async () => {
  options.length = 0
  await open(imported)
})
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  await api.dispose()
})

/** Start a real run of the compact CNN that outlasts the test, and wait until its first epoch is saved. */
async function startLongRun(): Promise<number> {
  const config = { ...defaultTrainConfig('custom'), epochs: 200 }
  const { runId } = await api.backend.handlers['training:start']({ config })
  await untilEpoch(runId)
  return runId
}

function untilEpoch(runId: number): Promise<void> {
  return new Promise((ok, fail) => {
    const off = api.backend.on('training-progress', (e) => {
      if (e.runId !== runId) return
      if (e.type === 'epoch') ok()
      else if (e.type === 'failed') fail(new Error(e.error.message))
      else return
      off()
    })
  })
}

function untilEnded(runId: number): Promise<string> {
  return new Promise((ok) => {
    const off = api.backend.on('training-progress', (e) => {
      if (e.runId === runId && (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled')) {
        off()
        ok(e.type)
      }
    })
  })
}

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
  /** The chart redraws at most every 250 ms (TrainingChart's REDRAW_MS): wait for the next redraw. */
  const redrawn = async (): Promise<void> => {
    await flushPromises()
    await new Promise((r) => setTimeout(r, 300))
    await flushPromises()
  }
  it('hands ECharts new series data as events arrive', async () => {
    const training = useTrainingStore()
    training.watchedId = summary.id
    const w = mountWith(TrainingDashboard)
    await flushPromises()
    const seriesLen = (name: string) => options.at(-1)!.series.find((s) => s.name === name)?.data.length ?? 0
    const firstEpoch = events.findIndex((e) => e.type === 'epoch')
    for (const e of events.slice(0, firstEpoch)) training.onEvent(e)
    await redrawn()
    expect(seriesLen('per batch')).toBe(events.slice(0, firstEpoch).filter((e) => e.type === 'batch').length)
    expect(seriesLen('train')).toBe(0)
    for (const e of events.slice(firstEpoch)) training.onEvent(e)
    await redrawn()
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
    const current = await api.invoke('project:current', {})
    useProjectStore().current = current
    const w = mountWith(TrainWizard)
    await vi.waitFor(() => expect(w.find('[data-test="data-table"]').exists()).toBe(true))
    await settle()
    return w
  }

  /** Split the library as the split dialog would; the backend's answer with its per-class counts. */
  const split = () => api.invoke('library:split', { val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })

  /** The median number of training images per class, from the backend's split answer. */
  function medianTrain(perClass: { train: number }[]): number {
    const n = perClass.map((c) => c.train).sort((a, b) => a - b)
    const mid = Math.floor(n.length / 2)
    return n.length % 2 ? n[mid] : Math.round((n[mid - 1] + n[mid]) / 2)
  }

  /** A split library, "similar" answered, and the recommendation (feature extraction) shown. */
  async function atRecommendation() {
    await split()
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
    const answer = await split()
    await useWizardStore().loadData()
    await flushPromises()
    expect(w.find('[data-test="warnings"]').text()).not.toContain('No split yet')
    const rows = w
      .findAll('[data-test="data-table"] tbody tr')
      .map((r) => r.findAll('td').map((c) => c.text()))
    const classes = await api.invoke('classes:list', {})
    expect(rows).toHaveLength(classes.length)
    for (const [i, c] of classes.entries()) {
      const own = answer.perClass.find((p) => p.classId === c.id)!
      expect(rows[i]).toEqual([c.name, String(c.count), String(own.train), String(own.val), String(own.test)])
    }
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeUndefined()
  })

  it('shows the recommendation for the answers, and Back keeps every answer and setting', async () => {
    const median = medianTrain((await split()).perClass)
    const w = await mountWizard()
    const wizard = useWizardStore()
    await w.find('[data-test="wizard-next"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-test="step-questions"]').text()).toContain(`median of ${median} training images`)
    await w.find('[data-test="similar-yes"]').setValue(true)
    await vi.waitFor(() => expect(w.find('[data-test="recommendation"]').exists()).toBe(true))
    const recommended = w.find('.cell.recommended')
    expect(recommended.attributes('data-strategy')).toBe('feature-extraction')
    expect(w.find('[data-test="recommendation"]').text()).toContain(
      `Recommended: Feature extraction, because with only ${median}`
    )
    // Raising the count past the threshold moves the recommendation to fine-tuning.
    await w.find('[data-test="images-per-class"]').setValue('800')
    await vi.waitFor(() => expect(w.find('.cell.recommended').attributes('data-strategy')).toBe('fine-tune'))
    await w.find('[data-test="images-per-class"]').setValue(String(median))
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
    // The defaults' load is done (and nothing else is pending) before the edit.
    await settle()
    await flushPromises()
    expect(wizard.config, 'the settings were loaded').not.toBeNull()
    await w.find('[data-test="set-epochs"]').setValue('3')
    await w.find('[data-test="set-epochs"]').trigger('change')
    expect(wizard.config?.epochs).toBe(3)
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
    // The review shows the backend's estimate for these settings, and this machine's cores.
    await vi.waitFor(() => expect(api.calls.some((c) => c.channel === 'training:estimate')).toBe(true))
    const asked = api.calls.filter((c) => c.channel === 'training:estimate').at(-1)!.args
    const estimate = await api.backend.handlers['training:estimate'](asked as never)
    const system = await api.invoke('system:info', {})
    const duration =
      estimate.seconds < 60 ? 'less than a minute' : `about ${Math.round(estimate.seconds / 60)} min`
    // No run measured in this project yet: the estimate says it is rough, and why, in the UI's words.
    expect(estimate.rough).toBe(true)
    await vi.waitFor(() =>
      expect(w.find('[data-test="estimate"]').text()).toContain(`${duration} (rough estimate)`)
    )
    expect(w.find('[data-test="estimate"]').text()).toContain(`${system.cpus} cores`)
    expect(w.find('[data-test="estimate-basis"]').text()).toContain(
      'No run of this project has been measured yet'
    )
    await w.find('[data-test="wizard-start"]').trigger('click')
    await vi.waitFor(() => expect(api.calls.some((c) => c.channel === 'training:start')).toBe(true))
    const started = api.calls.find((c) => c.channel === 'training:start')!.args as {
      config: { epochs: number; strategy: string }
    }
    expect(started.config.epochs).toBe(3)
    expect(started.config.strategy).toBe('custom')
    // And the backend is training that run.
    const { runId } = await api.invoke('training:running', {})
    expect((await api.invoke('training:get', { runId: runId! })).config.epochs).toBe(3)
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
    api.delayNext('training:defaults', 200)
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
    const wrong = join(api.dir, 'weights.bin')
    await w.find('[data-test="base-path"]').setValue(wrong)
    await w.find('[data-test="base-path"]').trigger('change')
    await vi.waitFor(() => expect(w.find('[data-test="base-message"]').text()).not.toBe(''))
    // The message on screen is the backend's answer to what the wizard asked.
    const asked = api.calls.filter((c) => c.channel === 'training:validateBase').at(-1)!.args
    const refused = await api.backend.handlers['training:validateBase'](asked as never)
    expect(refused.ok).toBe(false)
    expect(w.find('[data-test="base-message"]').text()).toBe(refused.message)
    expect(w.find('[data-test="base-message"]').text()).toContain(wrong)
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeDefined()
    // Under serve there is no native dialog: no Browse button, and the hint says to type the path.
    expect(w.find('[data-test="base-browse"]').exists()).toBe(false)
    expect(w.text()).toContain('type the path there')
    await w.find('[data-test="base-path"]').setValue(BASE_NPY)
    await w.find('[data-test="base-path"]').trigger('change')
    await vi.waitFor(() => expect(w.find('[data-test="base-message"]').classes()).toContain('ok'))
    expect(w.find('[data-test="wizard-next"]').attributes('disabled')).toBeUndefined()
  })
})

describe('evaluation view', () => {
  it('relabels the focused misclassified image with a class key, and accepts a prediction with Enter', async () => {
    await open(trained)
    const runId = trained.runId!
    const evaluation = (await api.invoke('training:evaluation', { runId }))!
    const classes = await api.invoke('classes:list', {})
    const training = useTrainingStore()
    await training.loadRuns()
    await useClassesStore().load()
    const w = mountWith(EvaluationView, { runId })
    // The fixture's one-epoch model gets most test images wrong, so there are at least two to fix.
    expect(evaluation.misclassified.length).toBeGreaterThanOrEqual(2)
    await vi.waitFor(() => expect(w.findAll('[data-test="wrong"]').length).toBeGreaterThanOrEqual(2))
    expect(w.find('[data-test="accuracy"]').text()).toBe(`${(evaluation.accuracy * 100).toFixed(1)} %`)
    const wrong = () => w.findAll('[data-test="wrong"]')
    const first = wrong()[0].element as HTMLElement
    const firstId = Number(first.dataset.imageId)
    const shown = evaluation.misclassified.find((m) => m.imageId === firstId)!
    // A class that is neither the image's label nor the model's guess, by its key.
    const target = classes.find((c) => c.id !== shown.labelClassId && c.id !== shown.predictedClassId)!
    first.focus()
    first.dispatchEvent(new KeyboardEvent('keydown', { key: String(target.position + 1), bubbles: true }))
    await vi.waitFor(async () => expect(await labelsOf(api, [firstId])).toEqual([target.id]))
    await vi.waitFor(() =>
      expect(w.find('[data-test="fixed"]').text()).toBe(
        `Now labelled ${target.position + 1} · ${target.name}`
      )
    )
    // Focus moved to the second; Enter accepts its prediction.
    const second = wrong()[1].element as HTMLElement
    const secondId = Number(second.dataset.imageId)
    const guess = evaluation.misclassified.find((m) => m.imageId === secondId)!.predictedClassId
    second.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await vi.waitFor(async () => expect(await labelsOf(api, [secondId])).toEqual([guess]))
  })
})

describe('dashboard controls', () => {
  it('cancels a running run, then resumes it from the dashboard', async () => {
    await open(trained)
    const training = useTrainingStore()
    const config = { ...defaultTrainConfig('custom'), epochs: 200 }
    const runId = await training.start(config)
    expect((await api.invoke('training:running', {})).runId).toBe(runId)
    const w = mountWith(TrainingDashboard)
    // Cancel once the first epoch is saved, so that there is a checkpoint to resume from.
    await untilEpoch(runId!)
    await flushPromises()
    expect(w.find('[data-test="resume-run"]').exists()).toBe(false)
    const ended = untilEnded(runId!)
    await w.find('[data-test="cancel-run"]').trigger('click')
    expect(await ended).toBe('cancelled')
    await vi.waitFor(() => expect(w.find('[data-test="run-status"]').text()).toBe('Cancelled'))
    expect(w.find('[data-test="cancel-run"]').exists()).toBe(false)
    await w.find('[data-test="resume-run"]').trigger('click')
    await vi.waitFor(() => expect(api.calls.some((c) => c.channel === 'training:resume')).toBe(true))
    await vi.waitFor(async () =>
      expect((await api.invoke('training:get', { runId: runId! })).status).toBe('running')
    )
    await vi.waitFor(() => expect(w.find('[data-test="cancel-run"]').exists()).toBe(true))
  })
})

describe('a reloaded run’s image counts', () => {
  it('come from the run row, in the dashboard and the results page, without any live event', async () => {
    await open(trained)
    const runId = trained.runId!
    const stored = await api.invoke('training:get', { runId })
    // The fixture trained on the real split of 4 signs x 28 labelled frames: the counts are the backend's.
    expect(stored.trainImages).toBeGreaterThan(0)
    expect(stored.valImages).toBeGreaterThan(0)
    expect(stored.trainImages! + stored.valImages!).toBeLessThanOrEqual(4 * 28)
    const training = useTrainingStore(pinia)
    await training.loadRuns()
    // What a reload gives the dashboard: the stored run, no `started` event.
    training.live.set(runId, liveFromSummary(stored))
    training.watchedId = runId
    const dash = mountWith(TrainingDashboard)
    await vi.waitFor(() =>
      expect(dash.find('[data-test="data-counts"]').text()).toBe(
        `${stored.trainImages} train, ${stored.valImages} validation`
      )
    )
    dash.unmount()
    await useClassesStore(pinia).load()
    wrapper = mountWith(EvaluationView, { runId })
    await vi.waitFor(() =>
      expect(wrapper!.find('[data-test="run-images"]').text()).toContain(String(stored.trainImages))
    )
    expect(wrapper.find('[data-test="run-images"]').text()).toContain(String(stored.valImages))
  })
})

describe('dashboard threads', () => {
  const started = events.find((e) => e.type === 'started') as Extract<TrainingEvent, { type: 'started' }>

  /** The dashboard's "Runs on" text after the recorded 'started' event, with `threads` set or left out. */
  async function backendText(threads?: number): Promise<string> {
    const training = useTrainingStore(pinia)
    training.watchedId = started.runId
    const w = mountWith(TrainingDashboard)
    await flushPromises()
    training.onEvent(threads === undefined ? started : { ...started, threads })
    await flushPromises()
    return w.find('[data-test="backend"]').text()
  }

  it('shows the thread count beside the backend when training runs data-parallel', async () => {
    expect(await backendText(2)).toBe('WebAssembly (SIMD) · 2 threads')
    expect(useTrainingStore(pinia).live.get(started.runId)!.threads).toBe(2)
  })

  it.each([1, undefined])('shows no thread count when threads is %s', async (threads) => {
    expect(await backendText(threads)).toBe('WebAssembly (SIMD)')
    expect(useTrainingStore(pinia).live.get(started.runId)!.threads).toBe(1)
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
    useTrainingStore(pinia).system = { ...system }
    expect(await backendText(2)).toBe('WebAssembly (SIMD) · 2 threads on 2 cores')
    useTrainingStore(pinia).system = { ...system }
    expect(await backendText(1)).toBe('WebAssembly (SIMD) · 2 cores')
  })
})

describe('runs table actions', () => {
  it('offers Results, Watch or Resume by each run’s status, and each leads where it should', async () => {
    await open(trained)
    const done = trained.runId!
    // A second run cancelled after its first epoch (resumable), and a third still training.
    const stopped = await startLongRun()
    const stoppedEnd = untilEnded(stopped)
    await api.backend.handlers['training:cancel']({ runId: stopped })
    expect(await stoppedEnd).toBe('cancelled')
    const live = await startLongRun()
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
    expect(labels(done)).toEqual(['Results'])
    expect(labels(live)).toEqual(['Watch'])
    expect(labels(stopped)).toEqual(['Resume'])
    expect(actions(done).find('button').classes()).toEqual(
      expect.arrayContaining(['btn', 'small', 'primary'])
    )

    await actions(live).find('[data-test="watch-run"]').trigger('click')
    expect(training.watchedId).toBe(live)
    expect([nav.view, nav.trainPane]).toEqual(['train', 'dashboard'])

    // One run trains at a time: stop the live one, then resume the other from the table.
    const liveEnd = untilEnded(live)
    await api.backend.handlers['training:cancel']({ runId: live })
    expect(await liveEnd).toBe('cancelled')
    nav.go('runs')
    await actions(stopped).find('[data-test="resume-run"]').trigger('click')
    await vi.waitFor(() => expect(nav.view).toBe('train'))
    expect(api.calls.filter((c) => c.channel === 'training:resume').map((c) => c.args)).toEqual([
      { runId: stopped }
    ])
    expect(training.watchedId).toBe(stopped)
    expect((await api.invoke('training:running', {})).runId).toBe(stopped)

    nav.go('runs')
    await actions(done).find('[data-test="open-run"]').trigger('click')
    expect(nav.resultRunId).toBe(done)
  })
})

describe('library predictions', () => {
  it('asks for a run’s predictions, the disagreement filter and confidence order, and turns them off', async () => {
    await open(trained)
    const runId = trained.runId!
    const all = await api.backend.handlers['library:query']({ filter: {}, offset: 0, limit: 1000, runId })
    const disagreeing = all.items.filter(
      (im) => im.classId !== null && im.predictedClassId != null && im.predictedClassId !== im.classId
    )
    expect(disagreeing.length).toBeGreaterThan(0)
    const library = useLibraryStore()
    library.showPredictions(runId, true)
    library.setSort({ key: 'confidence', descending: false })
    await vi.waitFor(() => expect(library.ready).toBe(true))
    await settle()
    const last = api.calls.filter((c) => c.channel === 'library:query').at(-1)!.args as {
      runId?: number
      filter: { disagreesWithRun?: number }
      sort: { key: string }
    }
    expect(last).toMatchObject({ runId, filter: { disagreesWithRun: runId }, sort: { key: 'confidence' } })
    await vi.waitFor(() => expect(library.total).toBe(disagreeing.length))
    expect(library.filterActive).toBe(true)
    // Lowest confidence first.
    const shown = Array.from({ length: library.total }, (_, i) => library.itemAt(i)?.confidence)
    expect(shown.every((c, i) => i === 0 || (c ?? 0) >= (shown[i - 1] ?? 0))).toBe(true)
    library.showPredictions(null)
    await settle()
    const off = api.calls.filter((c) => c.channel === 'library:query').at(-1)!.args as Record<string, unknown>
    expect(off.runId).toBeUndefined()
    expect(off.sort).toEqual({ key: 'id', descending: false })
    await vi.waitFor(() => expect(library.total).toBe(all.total))
  })
})
