// @vitest-environment happy-dom
// A coded backend error shows in the UI's language, against the real backend: the start screen's refusal of
// a missing project and the class manager's refusal of a taken key read in Chinese under zh-CN, and switch
// to English with the language (they are kept as code + parameters, not as text); notify's errorMessage
// words a RemoteError in the current language and falls back to the English message for an uncoded one.
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { setApi } from '@renderer/api'
import { RemoteError } from '@renderer/api/ws'
import { createAppI18n } from '@renderer/i18n'
import { useProjectStore } from '@renderer/stores/project'
import { useClassesStore } from '@renderer/stores/classes'
import { errorMessage } from '@renderer/stores/notify'
import StartScreen from '@renderer/components/app/StartScreen.vue'
import ClassManagerDialog from '@renderer/components/library/ClassManagerDialog.vue'
import { createRealApi, type RealApi } from './backend/realApi'

const CJK = /[\u4e00-\u9fff]/

let wrapper: VueWrapper | null = null
let api: RealApi | null = null
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  await api?.dispose()
  api = null
})

describe('coded backend errors in the renderer', () => {
  it('the start screen shows a missing project in Chinese, and in English after a switch', async () => {
    api = await createRealApi({ project: false })
    setApi(api)
    const pinia = createPinia()
    await useProjectStore(pinia).load()
    const i18n = createAppI18n('zh-CN')
    wrapper = mount(StartScreen, { global: { plugins: [pinia, i18n] }, attachTo: document.body })
    await flushPromises()
    const missing = join(api.dir, 'nowhere', 'gone.tsproj')
    await wrapper.find('[data-test="open-path"]').setValue(missing)
    await wrapper.find('[data-test="open"]').trigger('click')
    const w = wrapper
    await vi.waitFor(() =>
      expect(w.find('[data-test="start-error"]').text()).toBe(`找不到项目文件：${missing}`)
    )
    i18n.global.locale.value = 'en'
    await flushPromises()
    expect(wrapper.find('[data-test="start-error"]').text()).toBe(`project file not found: ${missing}`)
  })

  it('the class manager shows a taken key in Chinese', async () => {
    api = await createRealApi()
    setApi(api)
    const pinia = createPinia()
    const classes = useClassesStore(pinia)
    await classes.load()
    const i18n = createAppI18n('zh-CN')
    wrapper = mount(ClassManagerDialog, { global: { plugins: [pinia, i18n] }, attachTo: document.body })
    await flushPromises()
    const w = wrapper
    const add = async (): Promise<void> => {
      await w.find('[data-test="cm-new"]').setValue('Stop')
      await w.find('[data-test="cm-add"]').trigger('click')
    }
    // The real backend answers asynchronously: the second add goes once the first class is there.
    await add()
    await vi.waitFor(() => expect(classes.list.map((c) => c.key)).toContain('Stop'), { timeout: 10_000 })
    await add()
    await vi.waitFor(() => expect(w.find('[data-test="cm-error"]').exists()).toBe(true), { timeout: 10_000 })
    const shown = wrapper.find('[data-test="cm-error"]').text()
    expect(shown).toBe('已有类别使用按键"Stop"')
    i18n.global.locale.value = 'en'
    await flushPromises()
    expect(wrapper.find('[data-test="cm-error"]').text()).toBe('a class with key "Stop" already exists')
  })

  it("errorMessage words a RemoteError in the app's language and keeps an uncoded one", () => {
    const i18n = createAppI18n('zh-CN')
    const coded = new RemoteError({
      name: 'Error',
      message: 'cannot open project /p.tsproj: file not found: "p.tsproj"',
      code: 'project.cannotOpen',
      params: {
        path: '/p.tsproj',
        reason: 'file not found: "p.tsproj"',
        reasonCode: 'fs.notFound',
        reasonParams: JSON.stringify({ name: 'p.tsproj' })
      }
    })
    // The reason is coded too, so the whole sentence is Chinese.
    expect(errorMessage(coded)).toBe('无法打开项目 /p.tsproj：找不到文件："p.tsproj"')
    expect(errorMessage(new RemoteError({ name: 'Error', message: 'plain words' }))).toBe('plain words')
    expect(errorMessage(new RemoteError({ name: 'Error', message: 'x', code: 'no.such.key' }))).toBe('x')
    i18n.global.locale.value = 'en'
    expect(errorMessage(coded)).toBe('cannot open project /p.tsproj: file not found: "p.tsproj"')
    expect(errorMessage(coded)).not.toMatch(CJK)
  })
})
