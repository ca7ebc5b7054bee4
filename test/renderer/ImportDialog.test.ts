// @vitest-environment happy-dom
// The import dialog against the real backend: what a GTSRB annotation import asks the backend for.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, type Pinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import ImportDialog from '@renderer/components/library/ImportDialog.vue'
import { createRealApi, type RealApi } from './backend/realApi'
import { SHARED_DATA } from '../helpers'

let wrapper: VueWrapper | null = null
const apis: RealApi[] = []
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  for (const api of apis.splice(0)) await api.dispose()
})

async function importWith(setup: (w: VueWrapper) => Promise<void>): Promise<Record<string, unknown>> {
  const api = await createRealApi()
  apis.push(api)
  await api.backend.handlers['classes:add']({ name: 'Stop' })
  setApi(api)
  wrapper = mount(ImportDialog, {
    global: { plugins: [createPinia(), createAppI18n('en')] },
    attachTo: document.body
  })
  await wrapper.find('[data-test="import-folder"]').setValue('/data/GTSRB/Final_Training/Images')
  await setup(wrapper)
  await wrapper.find('#import-form').trigger('submit')
  await flushPromises()
  const call = api.calls.find((c) => c.channel === 'library:import')
  expect(call).toBeDefined()
  return call!.args as Record<string, unknown>
}

describe('import dialog', () => {
  it('crops to the annotated regions by default when labels come from a GTSRB CSV', async () => {
    const req = await importWith(async (w) => {
      await w.find('[data-test="labels-csv"]').setValue(true)
      expect((w.find('[data-test="import-crop"]').element as HTMLInputElement).checked).toBe(true)
    })
    expect(req).toMatchObject({ labels: 'gtsrb-csv', cropToRoi: true })
  })

  it('imports whole images when the crop is unticked, and never crops folder labels', async () => {
    const unticked = await importWith(async (w) => {
      await w.find('[data-test="labels-csv"]').setValue(true)
      await w.find('[data-test="import-crop"]').setValue(false)
    })
    expect(unticked.labels).toBe('gtsrb-csv')
    expect(unticked.cropToRoi).toBeUndefined()
    wrapper!.unmount()
    wrapper = null
    const folders = await importWith(async (w) => {
      expect(w.find('[data-test="import-crop"]').exists()).toBe(false)
    })
    expect(folders.labels).toBe('folders')
    expect(folders.cropToRoi).toBeUndefined()
  })
})

async function mountReal(): Promise<{ w: VueWrapper; api: RealApi; pinia: Pinia }> {
  const api = await createRealApi()
  apis.push(api)
  setApi(api)
  const pinia = createPinia()
  wrapper = mount(ImportDialog, {
    global: { plugins: [pinia, createAppI18n('en')] },
    attachTo: document.body
  })
  return { w: wrapper, api, pinia }
}

async function submit(w: VueWrapper): Promise<void> {
  await w.find('#import-form').trigger('submit')
  await flushPromises()
  await vi.waitFor(() => expect(w.find('[data-test="import-progress"]').exists()).toBe(false))
  await flushPromises()
}

describe('import dialog: a try that imports nothing', () => {
  it('says that no images were found in an empty folder, names the formats, and keeps the form', async () => {
    const { w, api } = await mountReal()
    const empty = join(api.dir, 'empty')
    mkdirSync(join(empty, 'sub'), { recursive: true })
    writeFileSync(join(empty, 'sub', 'notes.txt'), 'not an image')
    await w.find('[data-test="import-folder"]').setValue(empty)
    await submit(w)
    const error = w.find('[data-test="import-error"]')
    expect(error.text()).toContain(`No images were found in ${empty}`)
    expect(w.find('[data-test="import-formats"]').text()).toContain('PNG, JPEG, PPM')
    expect(w.text()).not.toContain('Every file was imported')
    expect((w.find('[data-test="import-folder"]').element as HTMLInputElement).value).toBe(empty)
    expect(w.find('[data-test="import-start"]').exists()).toBe(true)
  })

  it('keeps the path and the mode after a folder that does not exist, and imports once corrected', async () => {
    const { w, api, pinia } = await mountReal()
    const missing = join(api.dir, 'no-such-folder')
    await w.find('[data-test="import-folder"]').setValue(missing)
    await w.find('[data-test="labels-none"]').setValue(true)
    await submit(w)
    expect(w.find('[data-test="import-error"]').text()).toContain('Import failed')
    expect((w.find('[data-test="import-folder"]').element as HTMLInputElement).value).toBe(missing)
    expect((w.find('[data-test="labels-none"]').element as HTMLInputElement).checked).toBe(true)
    // Reopened, the dialog still has them.
    wrapper!.unmount()
    wrapper = mount(ImportDialog, {
      global: { plugins: [pinia, createAppI18n('en')] },
      attachTo: document.body
    })
    const again = wrapper
    expect((again.find('[data-test="import-folder"]').element as HTMLInputElement).value).toBe(missing)
    expect((again.find('[data-test="labels-none"]').element as HTMLInputElement).checked).toBe(true)
    const real = join(api.dir, 'imgs')
    mkdirSync(real)
    for (const f of readdirSync(join(SHARED_DATA, 'gtsrb-train', '14')).slice(0, 3))
      copyFileSync(join(SHARED_DATA, 'gtsrb-train', '14', f), join(real, f))
    await again.find('[data-test="import-folder"]').setValue(real)
    await submit(again)
    expect(again.find('[data-test="import-summary"]').text()).toContain('Imported 3')
    // The finished state's Close sits at the footer's other end from Import (see the e2e for positions).
    expect(again.find('[data-test="import-close"]').classes()).toContain('away')
  })
})
