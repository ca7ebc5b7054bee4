// @vitest-environment happy-dom
// The mounted app against the real backend on a temporary project: virtual grid size at 50,000 images,
// keyboard labelling, help overlay, empty state and the language switch.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import App from '@renderer/App.vue'
import { createRealApi, labelsOf, seedImages, settle, type RealApi } from './backend/realApi'

let wrapper: VueWrapper | null = null
// happy-dom has no layout; give every element a window-sized box so the virtualiser sees a viewport.
Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1000 })
Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 700 })
let api: RealApi | null = null
afterEach(async () => {
  wrapper?.unmount()
  wrapper = null
  setApi(null)
  document.body.innerHTML = ''
  await api?.dispose()
  api = null
})

/** A real backend on a new project holding these image rows (or on no project at all). */
async function backendWith(seed: Parameters<typeof seedImages>[1] | null): Promise<RealApi> {
  api = await createRealApi({ project: seed !== null })
  if (seed) await seedImages(api, seed)
  return api
}

async function mountApp(api: RealApi, locale: 'en' | 'zh-CN' = 'en') {
  setApi(api)
  wrapper = mount(App, {
    global: { plugins: [createPinia(), createAppI18n(locale)] },
    attachTo: document.body
  })
  await vi.waitFor(() => expect(wrapper!.find('.library, .start').exists()).toBe(true))
  await flushPromises()
  await settle(40)
  return wrapper
}

function press(key: string, opts: KeyboardEventInit = {}) {
  document.body.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...opts }))
}

describe('library view', () => {
  it('renders only a screenful of thumbnails out of 50,000 and asks for one page', async () => {
    const api = await backendWith({ count: 50_000, classes: ['Stop'] })
    const w = await mountApp(api)
    const cells = w.findAll('[data-test="cell"]')
    expect(cells.length).toBeGreaterThan(0)
    expect(cells.length).toBeLessThan(200)
    // The image's content hash is in the URL: ids restart at 1 in every project.
    expect(w.find('img').attributes('src')).toMatch(/^\/media\/thumb\/1\?v=[0-9a-f]{40}$/)
    expect(w.find('[data-test="stat-images"]').text()).toBe('50000 images')
    // Scrolling far down asks for the page there, and still renders only a screenful.
    const grid = w.find('[data-test="grid"]').element as HTMLElement
    grid.scrollTop = 164 * 2000
    grid.dispatchEvent(new Event('scroll'))
    await vi.waitFor(() =>
      expect(
        api.calls.some((c) => c.channel === 'library:query' && (c.args as { offset: number }).offset >= 9000)
      ).toBe(true)
    )
    await vi.waitFor(() => expect(w.find('[data-test="cell"]').attributes('data-index')).not.toBe('0'))
    expect(w.findAll('[data-test="cell"]').length).toBeLessThan(200)
    expect(api.calls.filter((c) => c.channel === 'library:query').length).toBeLessThan(5)
  })

  it('labels three images with a number key, advancing focus, and shows it', async () => {
    const api = await backendWith({ count: 12, classes: ['Stop', 'Yield'] })
    const w = await mountApp(api)
    press('2')
    press('2')
    press('2')
    await vi.waitFor(async () => expect(await labelsOf(api, [1, 2, 3, 4])).toEqual([2, 2, 2, null]))
    await settle(40)
    const captions = w.findAll('[data-test="caption"]').map((c) => c.text())
    expect(captions.slice(0, 4)).toEqual(['Yield', 'Yield', 'Yield', 'Unlabelled'])
    expect(w.find('.cell.focused').attributes('data-index')).toBe('3')
    expect(w.findAll('[data-test="class-count"]').map((c) => c.text())).toEqual(['0', '3'])
    press('z', { ctrlKey: true })
    await vi.waitFor(async () => expect(await labelsOf(api, [1, 2, 3])).toEqual([2, 2, null]))
    await vi.waitFor(() => expect(w.findAll('[data-test="caption"]')[2].text()).toBe('Unlabelled'))
  })

  it('does not label while typing in a text field, and opens the help with ?', async () => {
    const api = await backendWith({ count: 5, classes: ['Stop'] })
    const w = await mountApp(api)
    const search = w.find('[data-test="search"]').element as HTMLInputElement
    search.dispatchEvent(new KeyboardEvent('keydown', { key: '1', bubbles: true }))
    await settle()
    expect(api.calls.some((c) => c.channel === 'library:setLabel')).toBe(false)
    press('?')
    await flushPromises()
    expect(document.querySelector('[data-test="help"]')?.textContent).toContain(
      'Jump to the next unlabelled image'
    )
    press('1')
    await settle()
    expect(api.calls.some((c) => c.channel === 'library:setLabel')).toBe(false)
  })

  it('jumps to the next unlabelled image with n, and says when there is none', async () => {
    const api = await backendWith({ count: 8, classes: ['Stop'], labelled: (i) => (i === 5 ? null : 1) })
    const w = await mountApp(api)
    press('n')
    await vi.waitFor(() => expect(w.find('.cell.focused').attributes('data-index')).toBe('5'))
    press('1')
    await vi.waitFor(async () => expect(await labelsOf(api, [6])).toEqual([1]))
    press('n')
    await vi.waitFor(() => expect(w.find('.notices').text()).toContain('Every image here has a label.'))
  })

  it('shows the start screen without a project, and the reason an open failed', async () => {
    const w = await mountApp(await backendWith(null))
    await w.find('[data-test="open-path"]').setValue('/nowhere/x.tsproj')
    await w.find('[data-test="open-path"]').element.closest('form')!.dispatchEvent(new Event('submit'))
    await vi.waitFor(() =>
      expect(w.find('[data-test="start-error"]').text()).toBe('project file not found: /nowhere/x.tsproj')
    )
    expect(w.find('.library').exists()).toBe(false)
  })

  it('shows an empty state that points to import, in the chosen language', async () => {
    const w = await mountApp(await backendWith({ count: 0 }), 'zh-CN')
    expect(w.find('[data-test="empty"]').text()).toContain('还没有图片')
    expect(w.find('[data-test="empty"]').text()).toContain('导入文件夹')
    const select = w.find('[data-test="language"]')
    await select.setValue('en')
    expect(w.find('[data-test="empty"]').text()).toContain('No images yet')
    expect(localStorage.getItem('transfer-studio.locale')).toBe('en')
  })
})
