// @vitest-environment happy-dom
// The Review screen (issue 16) against the real backend on a copy of a real project (GTSRB frames of 4 signs,
// one label flipped in each class): a review started from the screen puts the flipped images at the top of
// the queue with their true class suggested, Enter relabels through the library's undo (and undo restores
// the label), K keeps, S skips, and O shows the image in the library.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cpSync } from 'node:fs'
import { defineComponent, h } from 'vue'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useProjectStore } from '@renderer/stores/project'
import { useLabelsStore } from '@renderer/stores/labels'
import { useLibraryStore } from '@renderer/stores/library'
import { useNavStore } from '@renderer/stores/nav'
import { useReviewStore } from '@renderer/stores/review'
import ReviewView from '@renderer/components/review/ReviewView.vue'
import { buildProject, createRealApi, labelsOf, type BuiltProject, type RealApi } from './backend/realApi'

/** The map's last ECharts option (no canvas in happy-dom): series named by class, points as [x, y, image id]. */
let mapOption: { series: { name: string; data: [number, number, number][] }[] } | null = null
const ChartStub = defineComponent({
  // eslint-disable-next-line vue/multi-word-component-names -- vue-echarts' own name, which the stub replaces
  name: 'Echarts',
  props: { option: { type: Object, required: true } },
  setup(props) {
    return () => {
      mapOption = JSON.parse(JSON.stringify(props.option))
      return h('div', { class: 'chart-stub' })
    }
  }
})

let project: BuiltProject
let api: RealApi
let wrapper: VueWrapper
/** Flipped image id → its true class. */
const flipped = new Map<number, number>()

beforeAll(async () => {
  project = await buildProject({ perClass: 30 })
  api = await createRealApi({ from: project.path })
  setApi(api)
  const pinia = createPinia()
  setActivePinia(pinia)
  const classes = await api.invoke('classes:list', {})
  const page = await api.invoke('library:query', { filter: {}, offset: 0, limit: 1000 })
  for (const [k, c] of classes.entries()) {
    const img = page.items.filter((i) => i.classId === c.id)[5]
    await api.invoke('library:setLabel', {
      imageIds: [img.id],
      classId: classes[(k + 1) % classes.length].id
    })
    flipped.set(img.id, c.id)
  }
  useProjectStore().current = await api.invoke('project:current', {})
  wrapper = mount(ReviewView, {
    global: { plugins: [pinia, createAppI18n('en')], stubs: { Echarts: ChartStub } },
    attachTo: document.body
  })
  await flushPromises()
  expect(wrapper.find('[data-test="review-none"]').exists()).toBe(true)
  await wrapper.find('[data-test="review-start"]').trigger('click')
  await flushPromises()
  expect(wrapper.find('[data-test="review-cancel"]').exists()).toBe(true)
  const review = useReviewStore()
  await vi.waitFor(() => expect(review.running).toBe(false), { timeout: 500_000, interval: 200 })
  await flushPromises()
  expect(review.error).toBeNull()
}, 600_000)

afterAll(async () => {
  wrapper?.unmount()
  setApi(null)
  await api?.dispose()
  project?.remove()
})

const rows = () => wrapper.findAll('[data-test="review-issue"]')
const rowImage = (i: number) => Number(rows()[i].attributes('data-image'))
const press = async (key: string) => {
  await wrapper.find('[data-test="review-queue"]').trigger('keydown', { key })
  await flushPromises()
  await expect.poll(() => useReviewStore().deciding).toBe(false)
  await flushPromises()
}

describe('review screen', () => {
  it('lists the flipped images first, named "n · name", with their true class suggested', () => {
    expect(rows().length).toBeGreaterThanOrEqual(flipped.size - 1)
    const top = rows()
      .slice(0, flipped.size)
      .map((_, i) => rowImage(i))
    const hits = top.filter((id) => flipped.has(id))
    expect(hits.length).toBeGreaterThanOrEqual(flipped.size - 1)
    const first = useReviewStore().queue[0]
    expect(wrapper.find('[data-test="issue-suggested"]').text()).toMatch(/^\d+ · \S/)
    if (flipped.has(first.imageId)) expect(first.suggestedClassId).toBe(flipped.get(first.imageId))
    expect(wrapper.find('[data-test="review-health"]').text()).toContain('images')
    expect(rows()[0].find('img').attributes('src')).toContain(String(first.imageId))
    // Every image is on the embedding map, and the map is shown.
    expect(useReviewStore().report!.map).toHaveLength(120)
    expect(wrapper.find('[data-test="review-map"]').exists()).toBe(true)
    const series = mapOption!.series
    expect(series).toHaveLength(4)
    for (const s of series) expect(s.name).toMatch(/^\d+ · /)
    expect(series.reduce((n, s) => n + s.data.length, 0)).toBe(120)
  })

  it('Enter accepts the suggestion through the library undo; undo restores the label', async () => {
    const review = useReviewStore()
    const issue = review.queue[0]
    const before = rows().length
    await press('Enter')
    expect((await labelsOf(api, [issue.imageId]))[0]).toBe(issue.suggestedClassId)
    expect(rows().length).toBe(before - 1)
    expect(rows().some((_, i) => rowImage(i) === issue.imageId)).toBe(false)
    // The backend remembers it: the last report, read again (as after a reload), leaves it out.
    await review.load()
    expect(review.queue.some((q) => q.imageId === issue.imageId)).toBe(false)
    const labels = useLabelsStore()
    expect(labels.canUndo).toBe(true)
    await labels.undo()
    expect((await labelsOf(api, [issue.imageId]))[0]).toBe(issue.classId)
    // Undone, the suggestion is open again.
    await review.load()
    await flushPromises()
    expect(rowImage(0)).toBe(issue.imageId)
  })

  it('S skips, ↑ goes back, K keeps (the label stays) and O opens the image in the library', async () => {
    const review = useReviewStore()
    expect(review.queue.length).toBeGreaterThanOrEqual(2)
    expect(review.index).toBe(0)
    await press('s')
    expect(review.index).toBe(1)
    expect(rows()[1].classes()).toContain('focused')
    await press('ArrowUp')
    expect(review.index).toBe(0)
    const kept = review.queue[0]
    await press('k')
    expect((await labelsOf(api, [kept.imageId]))[0]).toBe(kept.classId)
    expect(review.queue.some((q) => q.imageId === kept.imageId)).toBe(false)
    const next = review.queue[0]
    await press('o')
    expect(useNavStore().view).toBe('library')
    expect(useLibraryStore().filter).toEqual({ search: next.path.split('/').pop(), classIds: [next.classId] })
  })

  it('after a restart, the screen shows the last review again and says it was restored', async () => {
    // A new backend (a restarted app) on a copy of the project with its review folder beside it.
    const again = await createRealApi({ from: api.projectPath! })
    try {
      cpSync(`${api.projectPath}.review`, `${again.projectPath}.review`, { recursive: true })
      setApi(again)
      const pinia = createPinia()
      setActivePinia(pinia)
      useProjectStore().current = await again.invoke('project:current', {})
      const view = mount(ReviewView, {
        global: { plugins: [pinia, createAppI18n('en')], stubs: { Echarts: ChartStub } },
        attachTo: document.body
      })
      try {
        await vi.waitFor(() => expect(view.find('[data-test="review-restored"]').exists()).toBe(true), {
          timeout: 30_000
        })
        expect(view.find('[data-test="review-restored"]').text()).toMatch(/^Last review from .+, restored\./)
        expect(view.findAll('[data-test="review-issue"]').length).toBeGreaterThan(0)
      } finally {
        view.unmount()
      }
    } finally {
      setApi(api)
      await again.dispose()
    }
  })
})
