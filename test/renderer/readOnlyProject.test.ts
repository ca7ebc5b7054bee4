// @vitest-environment happy-dom
// A project opened read-only says so at once, in the shell above every view (en and zh-CN), against the real
// backend on a real project file whose permissions forbid changes; a writable project shows nothing.
import { chmodSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useProjectStore } from '@renderer/stores/project'
import StudioShell from '@renderer/components/app/StudioShell.vue'
import { createRealApi, type RealApi } from './backend/realApi'

let api: RealApi | null = null
let wrapper: VueWrapper | null = null
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  if (api?.projectPath) chmodSync(api.projectPath, 0o644)
  await api?.dispose()
  api = null
})

async function shell(readOnly: boolean, locale: 'en' | 'zh-CN' = 'en'): Promise<VueWrapper> {
  api = await createRealApi()
  await api.invoke('classes:add', { name: 'stop' })
  if (readOnly) {
    api.backend.services.projects.close()
    chmodSync(api.projectPath!, 0o444)
    await api.invoke('project:open', { path: api.projectPath! })
  }
  setApi(api)
  const pinia = createPinia()
  setActivePinia(pinia)
  useProjectStore().current = await api.invoke('project:current', {})
  wrapper = mount(StudioShell, {
    global: {
      plugins: [pinia, createAppI18n(locale)],
      stubs: { LibraryView: true, TrainView: true, RunsView: true, PredictView: true }
    }
  })
  return wrapper
}

describe('a read-only project', () => {
  it('shows a banner that says why changes are refused and how to make them', async () => {
    const w = await shell(true)
    const banner = w.find('[data-test="read-only"]')
    expect(banner.exists()).toBe(true)
    expect(banner.text()).toContain('open read-only')
    expect(banner.text()).toContain('change its permissions')
  })

  it('says it in Chinese too', async () => {
    const w = await shell(true, 'zh-CN')
    expect(w.find('[data-test="read-only"]').text()).toContain('只读')
  })

  it('shows no banner on a writable project', async () => {
    const w = await shell(false)
    expect(w.find('[data-test="read-only"]').exists()).toBe(false)
  })
})
