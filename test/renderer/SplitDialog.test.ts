// @vitest-environment happy-dom
// The split dialog against the real backend on projects of real GTSRB frames: the shares and seed chosen in
// the dialog reach the backend, the result table shows the counts the backend then reports (per class and in
// total), every labelled image gets a split and no unlabelled one does, the seed reproduces a split, "keep
// tracks together" keeps GTSRB tracks whole, and shares that leave nothing for training are refused.
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { mount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { defineComponent, h } from 'vue'
import { createPinia, type Pinia } from 'pinia'
import { setApi } from '@renderer/api'
import { createAppI18n } from '@renderer/i18n'
import { useClassesStore } from '@renderer/stores/classes'
import SplitDialog from '@renderer/components/library/SplitDialog.vue'
import NoticeList from '@renderer/components/app/NoticeList.vue'
import type { ImageSummary, Split } from '@shared/types'
import { linkEveryNthFrame } from '../helpers'
import { buildProject, createRealApi, type BuiltProject, type RealApi } from './backend/realApi'

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

// 4 classes × 20 real frames (file names without a track, so each image is its own group) and 6 unlabelled.
const PER_CLASS = 20
const UNLABELLED = 6
let built: BuiltProject
beforeAll(async () => {
  built = await buildProject({ perClass: PER_CLASS, unlabelled: UNLABELLED })
})
afterAll(() => built?.remove())

/** The dialog, and the app's notices beside it as App shows them. */
const WithNotices = defineComponent(() => () => [h(SplitDialog), h(NoticeList)])

/** The dialog over a real backend, with the class list loaded as the library view loads it. */
async function openDialog(api: RealApi): Promise<{ pinia: Pinia; w: VueWrapper }> {
  setApi(api)
  const pinia = createPinia()
  await useClassesStore(pinia).load()
  wrapper = mount(WithNotices, { global: { plugins: [pinia, createAppI18n('en')] }, attachTo: document.body })
  await flushPromises()
  return { pinia, w: wrapper }
}

async function choose(w: VueWrapper, opts: { val?: number; test?: number; seed?: number | string }) {
  if (opts.val !== undefined) await w.find('[data-test="split-val"]').setValue(String(opts.val))
  if (opts.test !== undefined) await w.find('[data-test="split-test"]').setValue(String(opts.test))
  if (opts.seed !== undefined) await w.find('[data-test="split-seed"]').setValue(String(opts.seed))
}

/** Press the dialog's Split button and wait for the backend's answer to show. */
async function apply(api: RealApi, w: VueWrapper): Promise<void> {
  const before = api.calls.filter((c) => c.channel === 'library:split').length
  await w.find('[data-test="split-apply"]').trigger('click')
  await vi.waitFor(() =>
    expect(api.calls.filter((c) => c.channel === 'library:split').length).toBe(before + 1)
  )
  await vi.waitFor(() =>
    expect((w.find('[data-test="split-apply"]').element as HTMLButtonElement).disabled).toBe(false)
  )
  await flushPromises()
}

/** The result table as shown: a row per class, and the totals under it. */
function shownResult(w: VueWrapper) {
  const result = w.find('[data-test="split-result"]')
  const nums = (cells: string[]) => cells.map(Number)
  return {
    rows: result.findAll('tbody tr').map((tr) => {
      const [name, ...counts] = tr.findAll('td').map((td) => td.text())
      const [train, val, test] = nums(counts)
      return { name, train, val, test }
    }),
    totals: nums(
      result
        .findAll('tfoot th')
        .map((th) => th.text())
        .slice(1)
    )
  }
}

/** Every image of the project with its class and split, read from the backend. */
async function allImages(api: RealApi): Promise<ImageSummary[]> {
  const page = await api.invoke('library:query', { filter: {}, offset: 0, limit: 1000 })
  expect(page.items).toHaveLength(page.total)
  return page.items
}

function countBy(items: ImageSummary[], classId: number, split: Split): number {
  return items.filter((i) => i.classId === classId && i.split === split).length
}

const label = (w: VueWrapper, id: 'split-val' | 'split-test') =>
  w.find(`[data-test="${id}"]`).element.parentElement!.querySelector('span')!.textContent

describe('split dialog', () => {
  it('splits at the chosen shares and seed, and shows the counts the backend stored', async () => {
    api = await createRealApi({ from: built.path })
    const { w } = await openDialog(api)
    expect(label(w, 'split-val')).toBe('15 %')
    expect(label(w, 'split-test')).toBe('15 %')
    expect(w.find('[data-test="split-result"]').exists()).toBe(false)

    await choose(w, { val: 20, test: 30, seed: 7 })
    expect(label(w, 'split-val')).toBe('20 %')
    expect(label(w, 'split-test')).toBe('30 %')
    await apply(api, w)
    expect(api.calls.filter((c) => c.channel === 'library:split').map((c) => c.args)).toEqual([
      { val: 0.2, test: 0.3, groupBy: 'track', seed: 7 }
    ])

    // What the dialog shows is what the backend now holds, class by class.
    const shown = shownResult(w)
    const classes = await api.invoke('classes:list', {})
    const images = await allImages(api)
    expect(shown.rows.map((r) => r.name).sort()).toEqual(classes.map((c) => c.name).sort())
    for (const row of shown.rows) {
      const cls = classes.find((c) => c.name === row.name)!
      expect(row).toEqual({
        name: cls.name,
        train: countBy(images, cls.id, 'train'),
        val: countBy(images, cls.id, 'val'),
        test: countBy(images, cls.id, 'test')
      })
      // Stratified: each class near 20 % / 30 % / 50 % of its 20 images.
      expect(Math.abs(row.val - 0.2 * PER_CLASS)).toBeLessThanOrEqual(1)
      expect(Math.abs(row.test - 0.3 * PER_CLASS)).toBeLessThanOrEqual(1)
      expect(row.train + row.val + row.test).toBe(PER_CLASS)
    }
    const stats = await api.invoke('library:stats', {})
    expect(shown.totals).toEqual([stats.splits.train, stats.splits.val, stats.splits.test])
    expect(shown.totals).toEqual([40, 16, 24])

    // Every labelled image got a split; the unlabelled ones got none.
    expect(images.filter((i) => i.classId !== null && i.split === null)).toEqual([])
    expect(images.filter((i) => i.classId === null).map((i) => i.split)).toEqual(Array(UNLABELLED).fill(null))
    expect(stats.splits.none).toBe(UNLABELLED)
    const unassigned = await api.invoke('library:query', { filter: { split: 'none' }, offset: 0, limit: 100 })
    expect(unassigned.total).toBe(UNLABELLED)
  })

  it('gives the same split for the same seed and another for another seed', async () => {
    api = await createRealApi({ from: built.path })
    const { w } = await openDialog(api)
    const splitOf = async () => new Map((await allImages(api!)).map((i) => [i.id, i.split]))

    await choose(w, { val: 25, test: 25, seed: 3 })
    await apply(api, w)
    const first = await splitOf()
    const firstShown = shownResult(w)

    await choose(w, { seed: 4 })
    await apply(api, w)
    const other = await splitOf()
    expect([...other].filter(([id, s]) => first.get(id) !== s).length).toBeGreaterThan(10)
    // The shares are the same, so the counts are too.
    expect(shownResult(w)).toEqual(firstShown)

    await choose(w, { seed: 3 })
    await apply(api, w)
    expect(await splitOf()).toEqual(first)
    expect(
      api.calls.filter((c) => c.channel === 'library:split').map((c) => (c.args as { seed: number }).seed)
    ).toEqual([3, 4, 3])
  })

  it('keeps GTSRB tracks in one split when asked, and cuts them when not', async () => {
    api = await createRealApi()
    // Every third frame of two classes, under their GTSRB file names (<track>_<frame>.ppm): ~24 tracks each.
    const folder = linkEveryNthFrame(join(api.dir, 'tracks'), [14, 17], 3)
    await api.invoke('library:import', { folder, labels: 'folders' })
    const { w } = await openDialog(api)
    const tracksSplitIn = async () => {
      const splits = new Map<string, Set<Split | null>>()
      for (const i of await allImages(api!)) {
        const track = `${i.classId}/${i.fileName.split('_')[0]}`
        splits.set(track, (splits.get(track) ?? new Set()).add(i.split))
      }
      return [...splits.values()]
    }

    expect((w.find('[data-test="split-group"]').element as HTMLInputElement).checked).toBe(true)
    await choose(w, { val: 20, test: 20, seed: 11 })
    await apply(api, w)
    const kept = await tracksSplitIn()
    expect(kept.length).toBeGreaterThan(30)
    expect(kept.filter((s) => s.size > 1)).toEqual([])
    // Still stratified, to within about a track (3 frames) per class.
    const classes = await api.invoke('classes:list', {})
    const rows = shownResult(w).rows
    for (const c of classes) {
      const row = rows.find((r) => r.name === c.name)!
      expect(row.train + row.val + row.test).toBe(c.count)
      expect(Math.abs(row.val - 0.2 * c.count)).toBeLessThanOrEqual(4)
      expect(Math.abs(row.test - 0.2 * c.count)).toBeLessThanOrEqual(4)
    }

    await w.find('[data-test="split-group"]').setValue(false)
    await apply(api, w)
    expect(api.calls.filter((c) => c.channel === 'library:split').at(-1)!.args).toMatchObject({
      groupBy: 'none'
    })
    expect((await tracksSplitIn()).filter((s) => s.size > 1).length).toBeGreaterThan(0)
  })

  it('refuses shares that leave nothing for training, and sends nothing', async () => {
    api = await createRealApi({ from: built.path })
    const { w } = await openDialog(api)
    const button = () => w.find('[data-test="split-apply"]').element as HTMLButtonElement
    expect(w.find('[data-test="split-invalid"]').exists()).toBe(false)

    await choose(w, { val: 50, test: 50 })
    expect(w.find('[data-test="split-invalid"]').text()).toBe(
      'Validation and test together must stay below 100 %.'
    )
    expect(button().disabled).toBe(true)
    // Neither the disabled button nor Enter in the form sends the request.
    await w.find('[data-test="split-apply"]').trigger('click')
    await w.find('#split-form').trigger('submit')
    await flushPromises()
    expect(api.calls.some((c) => c.channel === 'library:split')).toBe(false)
    expect((await api.invoke('library:stats', {})).splits.none).toBe(4 * PER_CLASS + UNLABELLED)
    expect(w.find('[data-test="split-result"]').exists()).toBe(false)

    // Lowering one share makes it valid again, and the split goes through.
    await choose(w, { test: 40 })
    expect(w.find('[data-test="split-invalid"]').exists()).toBe(false)
    expect(button().disabled).toBe(false)
    await apply(api, w)
    expect(shownResult(w).totals).toEqual([8, 40, 32])
    expect((await api.invoke('library:stats', {})).splits).toEqual({
      train: 8,
      val: 40,
      test: 32,
      none: UNLABELLED
    })
  })
  it('reports a seed the backend refuses, and keeps the split it had', async () => {
    api = await createRealApi({ from: built.path })
    const { w } = await openDialog(api)
    await choose(w, { val: 20, test: 30, seed: 7 })
    await apply(api, w)
    const before = await allImages(api)
    expect(w.find('.notices').text()).toBe('')

    await choose(w, { seed: -5 })
    await apply(api, w)
    expect(api.calls.filter((c) => c.channel === 'library:split').at(-1)!.args).toMatchObject({ seed: -5 })
    await vi.waitFor(() => expect(w.find('.notice.error').text()).toMatch(/^Something went wrong: .*seed/))
    expect(await allImages(api)).toEqual(before)
    // The table still shows the split that is stored.
    expect(shownResult(w).totals).toEqual([40, 16, 24])
  })
})
