// @vitest-environment happy-dom
// Store behaviour against the real backend on a temporary project: paging, stale answers, optimistic labels
// with rollback, undo/redo, selection and import progress.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { setApi } from '@renderer/api'
import { PAGE_SIZE, useLibraryStore } from '@renderer/stores/library'
import { useLabelsStore } from '@renderer/stores/labels'
import { useClassesStore } from '@renderer/stores/classes'
import { useNotifyStore } from '@renderer/stores/notify'
import { useImportStore } from '@renderer/stores/import'
import { SHARED_DATA } from '../helpers'
import { createRealApi, labelsOf, linkSigns, seedImages, settle, type RealApi } from './backend/realApi'

let api: RealApi | null = null

async function setup(seed: Parameters<typeof seedImages>[1]): Promise<RealApi> {
  api = await createRealApi()
  await seedImages(api, seed)
  setApi(api)
  setActivePinia(createPinia())
  return api
}

afterEach(async () => {
  setApi(null)
  await api?.dispose()
  api = null
})

describe('library store', () => {
  const big = { count: 50_000, classes: ['Stop', 'Yield'] }

  it('loads only the pages it is asked for, even with 50,000 images', async () => {
    const api = await setup(big)
    const library = useLibraryStore()
    await library.refresh()
    expect(library.total).toBe(50_000)
    expect(library.pages.size).toBe(1)
    await library.ensureRange(25_000, 25_050)
    expect([...library.pages.keys()].sort((a, b) => a - b)).toEqual([0, 25_000 / PAGE_SIZE])
    expect(library.itemAt(25_000)?.id).toBe(25_001)
    expect(library.itemAt(10_000)).toBeUndefined()
    const queries = api.calls.filter((c) => c.channel === 'library:query')
    expect(queries.every((c) => (c.args as { limit: number }).limit === PAGE_SIZE)).toBe(true)
    expect(queries).toHaveLength(2)
  })

  it('keeps a bounded cache while scrolling far', async () => {
    await setup(big)
    const library = useLibraryStore()
    await library.refresh()
    for (let p = 0; p < 60; p++) await library.ensureRange(p * PAGE_SIZE, p * PAGE_SIZE + 10)
    expect(library.pages.size).toBeLessThanOrEqual(24)
    expect(library.itemAt(59 * PAGE_SIZE)?.id).toBe(59 * PAGE_SIZE + 1)
  })

  it('ignores answers for a filter that was replaced meanwhile', async () => {
    const api = await setup({ ...big, labelled: (i) => (i === 0 ? 1 : null) })
    const library = useLibraryStore()
    // The unfiltered answer (50,000 rows) arrives after the filtered one and must be dropped.
    api.delayNext('library:query', 60)
    void library.refresh()
    library.setFilter({ classIds: [1] })
    await settle(200)
    expect(library.total).toBe(1)
    expect(library.itemAt(0)?.id).toBe(1)
    expect(library.itemAt(1)).toBeUndefined()
  })

  it('selects a range, all filtered ids, and finds the next unlabelled image beyond loaded pages', async () => {
    await setup({ ...big, labelled: (i) => (i < 30_000 ? 1 : null) })
    const library = useLibraryStore()
    await library.refresh()
    library.setFocus(2)
    library.moveFocus(3, { extend: true })
    await settle()
    expect([...library.selection]).toEqual([3, 4, 5, 6])
    await library.selectAll()
    expect(library.selection.size).toBe(50_000)
    library.clearSelection()
    expect(await library.focusNextUnlabelled()).toBe(true)
    expect(library.focusedIndex).toBe(30_000)
    expect(library.focusedItem?.classId).toBeNull()
  })
})

describe('labels store', () => {
  const small = { count: 10, classes: ['Stop', 'Yield'] }

  it('labels the focused image optimistically, advances focus and counts', async () => {
    const api = await setup(small)
    const library = useLibraryStore()
    const classes = useClassesStore()
    const labels = useLabelsStore()
    await Promise.all([library.refresh(), classes.load()])
    const done = labels.labelCurrent(2)
    // Before the backend answers, the grid already shows the label and focus moved on.
    expect(library.itemAt(0)?.classId).toBe(2)
    expect(library.focusedIndex).toBe(1)
    expect(classes.list[1].count).toBe(1)
    expect(await done).toBe(true)
    expect(await labelsOf(api, [1])).toEqual([2])
    expect(labels.canUndo).toBe(true)
    await vi.waitFor(() => expect(library.stats?.labelled).toBe(1))
  })

  it('rolls back and tells the user when the backend refuses', async () => {
    const api = await setup(small)
    const library = useLibraryStore()
    const classes = useClassesStore()
    const labels = useLabelsStore()
    const notify = useNotifyStore()
    await Promise.all([library.refresh(), classes.load()])
    // Another client deletes class 2 after this one loaded the classes: the backend refuses the label.
    await api.backend.handlers['classes:delete']({ id: 2, reassignTo: null })
    const done = labels.setLabel([1, 2], 2)
    expect(library.itemAt(1)?.classId).toBe(2)
    expect(await done).toBe(false)
    expect(library.itemAt(0)?.classId).toBeNull()
    expect(library.itemAt(1)?.classId).toBeNull()
    expect(classes.list[1].count).toBe(0)
    const error = notify.notices.find((n) => n.kind === 'error')
    expect(error?.key).toBe('labels.failed')
    expect(error?.params.message).toBe('class 2 not found')
  })

  it('labels the selection instead of the focus, then undoes and redoes', async () => {
    const api = await setup(small)
    const library = useLibraryStore()
    const classes = useClassesStore()
    const labels = useLabelsStore()
    await Promise.all([library.refresh(), classes.load()])
    library.toggleSelected(4)
    library.toggleSelected(6)
    await labels.labelCurrent(1)
    expect(await labelsOf(api, [3, 4, 5, 6, 7])).toEqual([null, 1, null, 1, null])
    expect(library.selection.size).toBe(0)
    expect(library.focusedIndex).toBe(0)
    await labels.undo()
    expect(library.itemAt(3)?.classId).toBeNull()
    expect(labels.canRedo).toBe(true)
    await labels.redo()
    expect(library.itemAt(3)?.classId).toBe(1)
    expect(classes.list[0].count).toBe(2)
  })
})

describe('import store', () => {
  it('follows progress events, cancels by import id, and counts what was imported before the cancel', async () => {
    const api = await setup({ count: 0 })
    // Every GTSRB training frame (6,450, read in place): long enough that the cancel lands while it runs.
    const folder = join(SHARED_DATA, 'gtsrb-train')
    const imp = useImportStore()
    const library = useLibraryStore()
    const seen: number[] = []
    api.on('import-progress', (e) => {
      // This listener runs after the store's: the store already shows this event.
      if (e.total > 0) seen.push(imp.fraction === Math.min(1, e.done / e.total) ? 1 : 0)
    })
    const running = imp.start({ folder: ` ${folder} `, labels: 'folders', namesCsv: '' })
    expect(imp.running).toBe(true)
    await vi.waitFor(() => expect(imp.progress?.phase).toBe('importing'), { timeout: 20_000 })
    await imp.cancel()
    expect(api.calls.find((c) => c.channel === 'library:cancelImport')?.args).toEqual({
      importId: imp.progress!.importId
    })
    expect(imp.cancelling).toBe(true)
    await running
    expect(imp.running).toBe(false)
    expect(imp.summary?.status).toBe('cancelled')
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.every((ok) => ok === 1)).toBe(true)
    expect(api.calls.find((c) => c.channel === 'library:import')?.args).toEqual({
      folder,
      labels: 'folders'
    })
    expect(imp.summary!.imported).toBeLessThan(6450)
    expect(library.total).toBe(imp.summary!.imported)
  })

  it('keeps the files that failed and why', async () => {
    const api = await setup({ count: 0 })
    const folder = linkSigns(join(api.dir, 'in'), 2)
    mkdirSync(join(folder, 'Stop'), { recursive: true })
    writeFileSync(join(folder, 'Stop', 'bad.ppm'), 'P6\n32 32\n255\n' + 'x'.repeat(10))
    const imp = useImportStore()
    await imp.start({ folder, labels: 'folders' })
    expect(imp.summary?.status).toBe('done')
    expect(imp.summary?.imported).toBe(8)
    expect(imp.summary?.failed).toHaveLength(1)
    expect(imp.summary?.failed[0].path).toBe(join(folder, 'Stop', 'bad.ppm'))
    expect(imp.summary?.failed[0].reason).toMatch(/truncated|short|expected/i)
    expect(useLibraryStore().total).toBe(8)
  })
})
