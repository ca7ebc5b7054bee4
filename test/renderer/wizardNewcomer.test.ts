// @vitest-environment happy-dom
// The newcomer's path through the wizard (issue 14), against the real backend on a copy of a real project
// (112 labelled GTSRB frames of 4 signs): step pills go back to visited steps only (buttons, aria-current,
// keyboard), a split made in the dialog updates the warnings while it is open, a long estimate is a warning
// whose one click applies the reduced model, a failed start's error stays on its Review only, a started run
// leaves the wizard fresh, and notices time out and go when the user moves on.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useWizardStore } from '@renderer/stores/wizard'
import { useTrainingStore } from '@renderer/stores/training'
import { useProjectStore } from '@renderer/stores/project'
import { useNavStore } from '@renderer/stores/nav'
import { ERROR_MS, INFO_MS, useNotifyStore } from '@renderer/stores/notify'
import TrainWizard from '@renderer/components/train/TrainWizard.vue'
import NoticeList from '@renderer/components/app/NoticeList.vue'
import { buildProject, createRealApi, settle, type BuiltProject, type RealApi } from './backend/realApi'

let project: BuiltProject
beforeAll(async () => {
  project = await buildProject({ perClass: 28, unlabelled: 0 })
})
afterAll(() => project?.remove())

let wrapper: VueWrapper | null = null
let api: RealApi
let pinia: ReturnType<typeof createPinia>

beforeEach(async () => {
  api = await createRealApi({ from: project.path })
  setApi(api)
  pinia = createPinia()
  setActivePinia(pinia)
})
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  vi.useRealTimers()
  await api.dispose()
})

const WizardWithNotices = defineComponent(() => () => [h(TrainWizard), h(NoticeList)])

async function mountWizard() {
  useProjectStore().current = await api.invoke('project:current', {})
  wrapper = mount(WizardWithNotices, {
    global: { plugins: [pinia, createAppI18n('en')] },
    attachTo: document.body
  })
  await vi.waitFor(() => expect(wrapper!.find('[data-test="data-table"]').exists()).toBe(true), {
    timeout: 30_000
  })
  await settle()
  return wrapper
}

const pill = (w: VueWrapper, n: number) => w.find(`[data-test="wizard-pill-${n}"]`)

describe('wizard: step pills', () => {
  it('are buttons for visited steps, disabled for steps not reached, and mark the current one', async () => {
    await api.invoke('library:split', { val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
    const w = await mountWizard()
    const wizard = useWizardStore()
    expect(pill(w, 1).element.tagName).toBe('BUTTON')
    expect(pill(w, 1).attributes('aria-current')).toBe('step')
    for (const n of [2, 3, 4, 5]) expect(pill(w, n).attributes('disabled')).toBeDefined()
    // A not-reached pill does nothing when clicked.
    await pill(w, 4).trigger('click')
    expect(wizard.step).toBe(1)
    // Go on to step 3 with Next (custom: no base), then back to step 1 with its pill.
    await w.find('[data-test="wizard-next"]').trigger('click')
    await flushPromises()
    wizard.similar = false
    await w.find('[data-strategy="custom"]').trigger('click')
    await w.find('[data-test="wizard-next"]').trigger('click')
    await flushPromises()
    expect(wizard.step).toBe(3)
    expect(pill(w, 3).attributes('aria-current')).toBe('step')
    expect(pill(w, 4).attributes('disabled')).toBeDefined()
    await pill(w, 1).trigger('click')
    await flushPromises()
    expect(wizard.step).toBe(1)
    expect(w.find('[data-test="step-data"]').exists()).toBe(true)
    expect(pill(w, 1).attributes('aria-current')).toBe('step')
    // The visited steps 2 and 3 are now buttons that work (a native button: Enter and Space click it).
    expect(pill(w, 3).attributes('disabled')).toBeUndefined()
    expect(pill(w, 3).classes()).toContain('done')
    ;(pill(w, 3).element as HTMLButtonElement).focus()
    expect(document.activeElement).toBe(pill(w, 3).element)
    await pill(w, 3).trigger('click')
    await flushPromises()
    expect(wizard.step).toBe(3)
    expect(w.find('[data-test="step-base"]').exists()).toBe(true)
  })
})

describe('wizard: data step and the split dialog', () => {
  it('updates the warnings as soon as the dialog splits, while it is still open', async () => {
    const w = await mountWizard()
    expect(w.find('[data-test="warnings"]').text()).toContain('No split yet')
    await w.find('[data-test="wizard-split"]').trigger('click')
    await flushPromises()
    const dialog = document.querySelector('[data-test="split-val"]')
    expect(dialog).not.toBeNull()
    ;(document.querySelector('[data-test="split-apply"]') as HTMLButtonElement).click()
    await vi.waitFor(() => expect(document.querySelector('[data-test="split-result"]')).not.toBeNull(), {
      timeout: 30_000
    })
    // The dialog is still open, and the wizard behind it already shows the new split.
    expect(document.querySelector('[data-test="split-val"]')).not.toBeNull()
    await vi.waitFor(() => expect(w.find('[data-test="warnings"]').exists()).toBe(false), { timeout: 30_000 })
    expect(w.find('[data-test="step-data"]').text()).toContain('The data is ready for training.')
  })
})

/** A split library, the given strategy picked, and the wizard on step 4 with its defaults loaded. */
async function atSettings(strategy: 'retrain' | 'feature-extraction', base?: string) {
  await api.invoke('library:split', { val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
  const w = await mountWizard()
  const wizard = useWizardStore()
  await wizard.next()
  wizard.similar = strategy === 'feature-extraction'
  wizard.pick(strategy)
  await flushPromises()
  await wizard.next()
  expect(wizard.step, wizard.error ?? '').toBe(3)
  if (base) {
    wizard.baseChoice = 'file'
    wizard.filePath = base
    await flushPromises()
    await wizard.validateBase()
    expect(wizard.baseCheck?.ok, wizard.baseCheck?.message).toBe(true)
  }
  await wizard.next()
  await vi.waitFor(() => expect(wizard.config, `${wizard.step} ${wizard.error}`).not.toBeNull(), {
    timeout: 30_000
  })
  expect(wizard.step).toBe(4)
  return { w, wizard }
}

describe('wizard: the review estimate', () => {
  // Retried: once in a clean-clone CI run under full load its settings step got "no project is open"
  // (not reproduced alone; noted on issue 14).
  it(
    'warns past an hour, and one click applies the reduced model and re-estimates',
    { retry: 2 },
    async () => {
      const { w, wizard } = await atSettings('retrain')
      // The defaults are sized to these 30-60 px signs: a reduced AlexNet at 67 px, well under an hour.
      expect(wizard.config!.preprocessing.inputSize).toBe(67)
      expect(wizard.config!.model).toMatchObject({ width: 0.5, fcUnits: 1024 })
      // The user asks for the full AlexNet at 227 px for 1,000 epochs: hours on this machine.
      wizard.config!.model = { ...wizard.config!.model, width: 1, fcUnits: 4096 }
      wizard.config!.preprocessing.inputSize = 227
      wizard.config!.epochs = 1000
      await w.find('[data-test="wizard-next"]').trigger('click')
      await vi.waitFor(() => expect(w.find('[data-test="long-run"]').exists()).toBe(true), {
        timeout: 30_000
      })
      const long = wizard.estimate!.seconds
      expect(long).toBeGreaterThan(3600)
      expect(w.find('[data-test="estimate"]').text()).toMatch(/about [\d.]+ h \(rough estimate\)/)
      expect(w.find('[data-test="long-run"]').text()).toContain('This run would take about')
      // Start stays possible, but the warning offers the reduced model.
      await w.find('[data-test="use-reduced"]').trigger('click')
      await vi.waitFor(() => expect(wizard.estimate).not.toBeNull(), { timeout: 30_000 })
      expect(wizard.config!.model).toMatchObject({ width: 0.5, fcUnits: 1024 })
      expect(wizard.config!.preprocessing.inputSize).toBe(67)
      expect(wizard.estimate!.seconds).toBeLessThan(long / 20)
      // What the warning did is what the backend estimates for the new settings.
      const again = await api.invoke('training:estimate', {
        config: JSON.parse(JSON.stringify(wizard.config))
      })
      expect(wizard.estimate!.seconds).toBe(again.seconds)
      await flushPromises()
      expect(w.find('[data-test="use-reduced"]').exists()).toBe(again.seconds > 3600)
    }
  )
})

describe('wizard: a failed start and a new run', () => {
  it('keeps a start error on its own Review, and a started run leaves the next wizard fresh', async () => {
    const { copyFileSync, rmSync } = await import('node:fs')
    const { join, resolve } = await import('node:path')
    const npy = join(api.dir, 'base.npy')
    copyFileSync(resolve(__dirname, '../fixtures/alexnet-bvlc/reduced-alexnet.npy'), npy)
    const { w, wizard } = await atSettings('feature-extraction', npy)
    await w.find('[data-test="wizard-next"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="wizard-start"]').exists()).toBe(true), {
      timeout: 30_000
    })
    // The file goes away after its check: the backend refuses the start, and Review says why.
    rmSync(npy)
    await w.find('[data-test="wizard-start"]').trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="start-error"]').exists()).toBe(true), {
      timeout: 30_000
    })
    const message = w.find('[data-test="start-error"]').text()
    expect(message).not.toBe('')
    // Leaving Review drops it: back on Review (by its pill), no old error.
    await w.find('[data-test="wizard-back"]').trigger('click')
    await flushPromises()
    await pill(w, 5).trigger('click')
    await vi.waitFor(() => expect(w.find('[data-test="step-review"]').exists()).toBe(true), {
      timeout: 30_000
    })
    expect(w.find('[data-test="start-error"]').exists()).toBe(false)
    expect(w.text()).not.toContain(message)

    // Now a start that works: the wizard starts over, and "New run" shows step 1 with nothing of before.
    wizard.pick('custom')
    await wizard.goTo(4)
    await vi.waitFor(() => expect(wizard.config?.strategy).toBe('custom'), { timeout: 30_000 })
    wizard.config!.epochs = 1
    await wizard.goTo(5)
    await w.find('[data-test="wizard-start"]').trigger('click')
    await vi.waitFor(() => expect(useNavStore().trainPane).toBe('dashboard'), { timeout: 30_000 })
    const training = useTrainingStore()
    expect(training.runningId).not.toBeNull()
    expect(wizard.step).toBe(1)
    expect(wizard.config).toBeNull()
    expect(wizard.estimate).toBeNull()
    expect(training.error).toBeNull()
    // The answers about the data and the strategy stay (pills 2 and 3); the settings are fresh (4, 5 wait).
    expect(wizard.chosen).toBe('custom')
    await flushPromises()
    for (const n of [2, 3]) expect(pill(w, n).attributes('disabled')).toBeUndefined()
    for (const n of [4, 5]) expect(pill(w, n).attributes('disabled')).toBeDefined()
    await api.invoke('training:cancel', { runId: training.runningId! })
  })
})

describe('notices', () => {
  it('fade (errors a little later), go with ×, and are cleared when the user moves to another screen', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const notify = useNotifyStore()
    const nav = useNavStore()
    wrapper = mount(NoticeList, {
      global: { plugins: [pinia, createAppI18n('en')] },
      attachTo: document.body
    })
    notify.error('app.error', { message: 'run 3 failed: out of memory' })
    notify.info('labels.allLabelled')
    await flushPromises()
    expect(wrapper.findAll('[data-test="notice"]')).toHaveLength(2)
    vi.advanceTimersByTime(INFO_MS + 1)
    await flushPromises()
    expect(wrapper.text()).toContain('out of memory')
    expect(wrapper.text()).not.toContain('Every image here has a label.')
    vi.advanceTimersByTime(ERROR_MS - INFO_MS)
    await flushPromises()
    expect(wrapper.findAll('[data-test="notice"]')).toHaveLength(0)
    // ×.
    notify.error('app.error', { message: 'first' })
    await flushPromises()
    await wrapper.find('[data-test="notice-dismiss"]').trigger('click')
    expect(wrapper.findAll('[data-test="notice"]')).toHaveLength(0)
    // Another screen: what was said about the last one goes.
    notify.error('app.error', { message: 'about the wizard' })
    vi.advanceTimersByTime(1000)
    nav.go('library')
    nav.go('runs')
    await flushPromises()
    expect(wrapper.text()).not.toContain('about the wizard')
    // The Train view's panes count as screens too.
    notify.error('app.error', { message: 'about the dashboard' })
    vi.advanceTimersByTime(1000)
    nav.showDashboard()
    await flushPromises()
    expect(wrapper.text()).not.toContain('about the dashboard')
  })
})
