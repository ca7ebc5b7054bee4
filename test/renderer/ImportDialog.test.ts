// @vitest-environment happy-dom
// The import dialog against the real backend: what a GTSRB annotation import asks the backend for.
import { afterEach, describe, expect, it } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import ImportDialog from '@renderer/components/library/ImportDialog.vue'
import { createRealApi, type RealApi } from './backend/realApi'

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
