// @vitest-environment happy-dom
// Store behaviour against the in-memory API: paging, stale answers, optimistic labels with rollback,
// undo/redo, selection and import progress.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { setApi } from '@renderer/api'
import { PAGE_SIZE, useLibraryStore } from '@renderer/stores/library'
import { useLabelsStore } from '@renderer/stores/labels'
import { useClassesStore } from '@renderer/stores/classes'
import { useNotifyStore } from '@renderer/stores/notify'
import { useImportStore } from '@renderer/stores/import'
import { createMemoryApi, progress, settle, type MemoryApi } from './memoryApi'

let api: MemoryApi

function setup(opts: Parameters<typeof createMemoryApi>[0]) {
  api = createMemoryApi(opts)
  setApi(api)
  setActivePinia(createPinia())
}

afterEach(() => setApi(null))

describe('library store', () => {
  beforeEach(() => setup({ images: 50_000, classes: ['Stop', 'Yield'] }))

  it('loads only the pages it is asked for, even with 50,000 images', async () => {
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
    const library = useLibraryStore()
    await library.refresh()
    for (let p = 0; p < 60; p++) await library.ensureRange(p * PAGE_SIZE, p * PAGE_SIZE + 10)
    expect(library.pages.size).toBeLessThanOrEqual(24)
    expect(library.itemAt(59 * PAGE_SIZE)?.id).toBe(59 * PAGE_SIZE + 1)
  })

  it('ignores answers for a filter that was replaced meanwhile', async () => {
    const library = useLibraryStore()
    api.images[0].classId = 1
    // The unfiltered answer (50,000 rows) arrives after the filtered one and must be dropped.
    api.slowNext('library:query', 30)
    void library.refresh()
    library.setFilter({ classIds: [1] })
    await settle(80)
    expect(library.total).toBe(1)
    expect(library.itemAt(0)?.id).toBe(1)
    expect(library.itemAt(1)).toBeUndefined()
  })

  it('selects a range, all filtered ids, and finds the next unlabelled image beyond loaded pages', async () => {
    const library = useLibraryStore()
    for (let i = 0; i < 30_000; i++) api.images[i].classId = 1
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
  beforeEach(() => setup({ images: 10, classes: ['Stop', 'Yield'] }))

  it('labels the focused image optimistically, advances focus and counts', async () => {
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
    expect(api.images[0].classId).toBe(2)
    expect(labels.canUndo).toBe(true)
    expect(library.stats?.labelled).toBe(1)
  })

  it('rolls back and tells the user when the backend refuses', async () => {
    const library = useLibraryStore()
    const classes = useClassesStore()
    const labels = useLabelsStore()
    const notify = useNotifyStore()
    await Promise.all([library.refresh(), classes.load()])
    api.failNext('library:setLabel', { name: 'ValidationError', message: 'class 2 does not exist' })
    const done = labels.setLabel([1, 2], 2)
    expect(library.itemAt(1)?.classId).toBe(2)
    expect(await done).toBe(false)
    expect(library.itemAt(0)?.classId).toBeNull()
    expect(library.itemAt(1)?.classId).toBeNull()
    expect(classes.list[1].count).toBe(0)
    const error = notify.notices.find((n) => n.kind === 'error')
    expect(error?.key).toBe('labels.failed')
    expect(error?.params.message).toBe('class 2 does not exist')
  })

  it('labels the selection instead of the focus, then undoes and redoes', async () => {
    const library = useLibraryStore()
    const classes = useClassesStore()
    const labels = useLabelsStore()
    await Promise.all([library.refresh(), classes.load()])
    library.toggleSelected(4)
    library.toggleSelected(6)
    await labels.labelCurrent(1)
    expect(api.images.filter((i) => i.classId === 1).map((i) => i.id)).toEqual([4, 6])
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
  beforeEach(() => setup({ images: 0, classes: [] }))

  it('follows progress events, cancels by import id and keeps the failures', async () => {
    const imp = useImportStore()
    const library = useLibraryStore()
    const running = imp.start({ folder: ' /in ', labels: 'folders', namesCsv: '' })
    await settle()
    expect(imp.running).toBe(true)
    api.emit(
      'import-progress',
      progress({ phase: 'importing', done: 5, total: 10, rate: 20, etaSeconds: 0.25 })
    )
    expect(imp.fraction).toBe(0.5)
    await imp.cancel()
    expect(api.calls.find((c) => c.channel === 'library:cancelImport')?.args).toEqual({ importId: 7 })
    expect(imp.cancelling).toBe(true)
    api.images.push({ id: 1, fileName: 'a.ppm', classId: null, split: null, width: 32, height: 32 })
    api.finishImport('cancelled')
    await running
    expect(imp.running).toBe(false)
    expect(imp.summary?.status).toBe('cancelled')
    expect(imp.summary?.failed[0].reason).toBe('truncated PPM')
    expect(api.calls.find((c) => c.channel === 'library:import')?.args).toEqual({
      folder: '/in',
      labels: 'folders'
    })
    expect(library.total).toBe(1)
  })
})
