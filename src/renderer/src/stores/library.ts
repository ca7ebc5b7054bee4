// The library view's data: filter and sort, a page cache the virtual grid reads from (only the pages near
// what is on screen are ever loaded, so 50,000 images cost a few hundred rows of memory), the selection,
// the keyboard focus, the detail panel and the statistics.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, triggerRef, watch } from 'vue'
import type {
  ImageDetail,
  ImageFilter,
  ImageSortKey,
  ImageSummary,
  LibraryStats,
  SplitRequest,
  SplitSummary
} from '@shared/types'
import { getApi } from '@renderer/api'
import { errorMessage, useNotifyStore } from './notify'
import { useProjectStore } from './project'
import { mediaVersion } from '@shared/ipc'

/** Rows per `library:query` request. */
export const PAGE_SIZE = 200
/** Pages kept in memory; the farthest from the last request are dropped beyond this. */
export const MAX_CACHED_PAGES = 24

export interface SortState {
  key: ImageSortKey
  descending: boolean
}

export const useLibraryStore = defineStore('library', () => {
  const api = getApi()
  const notify = useNotifyStore()
  const project = useProjectStore()

  /** What the grid shows; fields combine with AND. */
  const filter = ref<ImageFilter>({})
  /** Order of the grid. */
  const sort = ref<SortState>({ key: 'id', descending: false })
  /** Run whose predictions the grid shows (and sorts by, for confidence); null = none. */
  const predictionRun = ref<number | null>(null)
  /** Images matching the filter (the grid's length). */
  const total = ref(0)
  /** True once the first page of the current filter arrived (the grid can tell "empty" from "loading"). */
  const ready = ref(false)
  /**
   * Loaded pages by page index. Shallow: rows are replaced, never mutated in place, and `triggerRef` tells
   * the grid; deep reactivity over thousands of rows would only cost time.
   */
  const pages = shallowRef(new Map<number, ImageSummary[]>())
  /** Ids of selected images (may include images not loaded, after select-all). */
  const selection = shallowRef(new Set<number>())
  /** Index (in the filtered order) of the keyboard focus. */
  const focusedIndex = ref(0)
  /** Where a Shift+arrow selection started. */
  const anchorIndex = ref<number | null>(null)
  /** Counts over the whole library, for the status bar and sidebar. */
  const stats = ref<LibraryStats | null>(null)
  /** Whether the detail panel is open. */
  const detailOpen = ref(false)
  /** Details of the focused image while the panel is open. */
  const detail = ref<ImageDetail | null>(null)
  /** Result of the last split, for the split dialog. */
  const lastSplit = ref<SplitSummary | null>(null)

  // Bumped on every filter/sort change or refresh so late answers for an old query are ignored.
  let generation = 0
  const inFlight = new Set<number>()
  const pageUse = new Map<number, number>()
  let useClock = 0

  const focusedItem = computed(() => itemAt(focusedIndex.value))
  const filterActive = computed(() => {
    const f = filter.value
    return Boolean(
      f.unlabelled ||
      f.classIds?.length ||
      f.split ||
      f.search?.trim() ||
      f.disagreesWithRun !== undefined ||
      f.imageIds
    )
  })

  /** The row at an index, or undefined while its page is loading. */
  function itemAt(index: number): ImageSummary | undefined {
    return pages.value.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE]
  }

  // Reactive proxies cannot cross Electron's structured clone; send plain copies.
  function plainFilter(extra: ImageFilter = {}): ImageFilter {
    const f = { ...filter.value, ...extra }
    const out: ImageFilter = {}
    if (f.classIds?.length) out.classIds = [...f.classIds]
    if (f.unlabelled) out.unlabelled = true
    if (f.split) out.split = f.split
    if (f.search?.trim()) out.search = f.search.trim()
    if (f.disagreesWithRun !== undefined) out.disagreesWithRun = f.disagreesWithRun
    if (f.imageIds) out.imageIds = [...f.imageIds]
    return out
  }
  function plainSort() {
    return { key: sort.value.key, descending: sort.value.descending }
  }
  /** The run to attach predictions from: the chosen one, or the one the filter names. */
  function queryRun(): { runId?: number } {
    const id = predictionRun.value ?? filter.value.disagreesWithRun ?? null
    return id === null ? {} : { runId: id }
  }

  async function loadPage(page: number): Promise<void> {
    if (inFlight.has(page)) return
    const gen = generation
    inFlight.add(page)
    try {
      const result = await api.invoke('library:query', {
        filter: plainFilter(),
        sort: plainSort(),
        ...queryRun(),
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE
      })
      if (gen !== generation) return
      total.value = result.total
      pages.value.set(page, result.items)
      pageUse.set(page, ++useClock)
      evict()
      ready.value = true
      triggerRef(pages)
      if (focusedIndex.value >= total.value) focusedIndex.value = Math.max(0, total.value - 1)
    } catch (e) {
      if (gen === generation) notify.error('app.error', { message: errorMessage(e) })
    } finally {
      if (gen === generation) inFlight.delete(page)
    }
  }

  function evict(): void {
    if (pages.value.size <= MAX_CACHED_PAGES) return
    const byAge = [...pageUse.entries()].sort((a, b) => a[1] - b[1])
    for (const [page] of byAge.slice(0, pages.value.size - MAX_CACHED_PAGES)) {
      pages.value.delete(page)
      pageUse.delete(page)
    }
  }

  /** Make sure rows [start, end] are loaded or loading (the grid calls this as it scrolls). */
  function ensureRange(start: number, end: number): Promise<void> {
    const first = Math.max(0, Math.floor(start / PAGE_SIZE))
    const last = Math.floor(Math.max(start, Math.min(end, Math.max(total.value - 1, 0))) / PAGE_SIZE)
    const loads: Promise<void>[] = []
    for (let p = first; p <= last; p++) {
      if (pages.value.has(p)) pageUse.set(p, ++useClock)
      else loads.push(loadPage(p))
    }
    return Promise.all(loads).then(() => undefined)
  }

  async function loadStats(): Promise<void> {
    try {
      stats.value = await api.invoke('library:stats', {})
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
  }

  /** Drop the cache and load again around the focus (after a filter change, an import, an undo...). */
  async function refresh(options: { keepFocus?: boolean } = {}): Promise<void> {
    generation++
    inFlight.clear()
    pageUse.clear()
    pages.value = new Map()
    if (!options.keepFocus) {
      focusedIndex.value = 0
      anchorIndex.value = null
    }
    const page = Math.floor(focusedIndex.value / PAGE_SIZE)
    await Promise.all([loadPage(page), loadStats()])
    // A focus kept beyond the new end would hide the focus ring.
    if (total.value === 0) ready.value = true
  }

  /** Re-read the pages already on screen in place, without resetting focus or scroll. */
  async function reloadLoaded(): Promise<void> {
    const loaded = [...pages.value.keys()]
    generation++
    inFlight.clear()
    await Promise.all([...loaded.map((p) => loadPage(p)), loadStats()])
  }

  function setFilter(next: ImageFilter): void {
    filter.value = next
    selection.value = new Set()
    void refresh()
  }

  function setSort(next: SortState): void {
    sort.value = next
    void refresh()
  }

  function clearFilters(): void {
    setFilter({})
  }

  /** Show exactly these images (a region of the review's map); other filters are cleared. */
  function showImages(imageIds: number[]): void {
    setFilter({ imageIds: [...imageIds] })
  }

  /** Drop the map's image list, keeping the other filters. */
  function clearImageIds(): void {
    setFilter({ ...filter.value, imageIds: undefined })
  }

  /**
   * Show a run's predictions: with `disagreeing`, only images whose prediction differs from the label;
   * sorted by confidence, lowest first ("the images worth labelling next"). Null turns it off.
   */
  function showPredictions(runId: number | null, disagreeing = false): void {
    predictionRun.value = runId
    if (runId === null) {
      filter.value = { ...filter.value, disagreesWithRun: undefined }
      if (sort.value.key === 'confidence') sort.value = { key: 'id', descending: false }
    } else {
      filter.value = { ...filter.value, disagreesWithRun: disagreeing ? runId : undefined }
    }
    selection.value = new Set()
    void refresh()
  }

  /** Forget everything about the previous project (its class ids mean nothing in the next one). */
  function reset(): Promise<void> {
    filter.value = {}
    sort.value = { key: 'id', descending: false }
    predictionRun.value = null
    selection.value = new Set()
    detailOpen.value = false
    detail.value = null
    lastSplit.value = null
    ready.value = false
    total.value = 0
    stats.value = null
    return refresh()
  }

  // --- focus & selection -----------------------------------------------------------------------

  function setFocus(index: number, opts: { extend?: boolean } = {}): void {
    if (total.value === 0) return
    const next = Math.min(Math.max(0, index), total.value - 1)
    if (opts.extend) {
      if (anchorIndex.value === null) anchorIndex.value = focusedIndex.value
      void selectRange(anchorIndex.value, next)
    } else {
      anchorIndex.value = null
    }
    focusedIndex.value = next
  }

  function moveFocus(delta: number, opts: { extend?: boolean } = {}): void {
    setFocus(focusedIndex.value + delta, opts)
  }

  function toggleSelected(id: number): void {
    const next = new Set(selection.value)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    selection.value = next
  }

  /** Select exactly the rows between two indices (inclusive), loading their pages if needed. */
  async function selectRange(from: number, to: number): Promise<void> {
    const [a, b] = from <= to ? [from, to] : [to, from]
    await ensureRange(a, b)
    const next = new Set<number>()
    for (let i = a; i <= b; i++) {
      const item = itemAt(i)
      if (item) next.add(item.id)
    }
    selection.value = next
  }

  /** Select every image matching the filter, loaded or not. */
  async function selectAll(): Promise<void> {
    try {
      const { ids } = await api.invoke('library:queryIds', {
        filter: plainFilter(),
        sort: plainSort(),
        ...queryRun()
      })
      selection.value = new Set(ids)
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
  }

  function clearSelection(): void {
    selection.value = new Set()
    anchorIndex.value = null
  }

  /** Move focus to the next unlabelled image after the focus (wrapping), looking in loaded pages first. */
  async function focusNextUnlabelled(): Promise<boolean> {
    const start = focusedIndex.value
    for (let i = start + 1; i < total.value; i++) {
      const item = itemAt(i)
      if (!item) break
      if (item.classId === null) {
        setFocus(i)
        return true
      }
    }
    // Not in what is loaded: ask for the order of all ids and the unlabelled ones, then pick.
    try {
      const [all, unl] = await Promise.all([
        api.invoke('library:queryIds', { filter: plainFilter(), sort: plainSort(), ...queryRun() }),
        api.invoke('library:queryIds', {
          filter: plainFilter({ unlabelled: true }),
          sort: plainSort(),
          ...queryRun()
        })
      ])
      const unlabelled = new Set(unl.ids)
      if (unlabelled.size === 0) return false
      const n = all.ids.length
      for (let k = 1; k <= n; k++) {
        const i = (start + k) % n
        if (unlabelled.has(all.ids[i])) {
          await ensureRange(i, i)
          setFocus(i)
          return true
        }
      }
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
    return false
  }

  // --- label patches (used by the labels store) -------------------------------------------------

  /** Previous class of each cached row among `ids`, for a rollback. */
  function snapshotLabels(ids: Iterable<number>): Map<number, number | null> {
    const want = new Set(ids)
    const out = new Map<number, number | null>()
    for (const rows of pages.value.values())
      for (const r of rows) if (want.has(r.id)) out.set(r.id, r.classId)
    return out
  }

  /** Set the class of cached rows (optimistic update or rollback). */
  function patchLabels(classOf: (id: number) => number | null | undefined): void {
    let changed = false
    for (const [p, rows] of pages.value) {
      let copy: ImageSummary[] | null = null
      rows.forEach((r, i) => {
        const c = classOf(r.id)
        if (c !== undefined && c !== r.classId) {
          copy ??= [...rows]
          copy[i] = { ...r, classId: c }
        }
      })
      if (copy) {
        pages.value.set(p, copy)
        changed = true
      }
    }
    if (changed) triggerRef(pages)
  }

  // --- detail panel ----------------------------------------------------------------------------

  async function loadDetail(): Promise<void> {
    const item = focusedItem.value
    if (!item) {
      detail.value = null
      return
    }
    try {
      const d = await api.invoke('library:image', { id: item.id })
      if (focusedItem.value?.id === d.id) detail.value = d
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
  }
  function openDetail(): void {
    detailOpen.value = true
    void loadDetail()
  }
  function closeDetail(): void {
    detailOpen.value = false
  }
  watch(
    () => [focusedItem.value?.id, focusedItem.value?.classId],
    () => {
      if (detailOpen.value) void loadDetail()
    }
  )

  // --- split -----------------------------------------------------------------------------------

  async function split(req: SplitRequest): Promise<SplitSummary | null> {
    try {
      lastSplit.value = await api.invoke('library:split', { ...req })
      await refresh({ keepFocus: true })
      return lastSplit.value
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
      return null
    }
  }

  /**
   * The image's content hash where the caller has it, else the open project's key, goes into the URL:
   * image ids restart at 1 in every project, so an id-only URL would show another project's cached picture.
   */
  function mediaUrl(id: number, kind: 'thumb' | 'full', hash?: string): string {
    const key = project.current?.mediaKey
    return api.imageUrl(id, kind, key ? mediaVersion(key, hash) : undefined)
  }
  function thumbUrl(id: number, hash?: string): string {
    return mediaUrl(id, 'thumb', hash)
  }
  function fullUrl(id: number, hash?: string): string {
    return mediaUrl(id, 'full', hash)
  }

  // Changes made elsewhere (an import, the class manager, another window) invalidate what we show.
  // Our own label edits are already patched in, so those only refresh the counts.
  // Changes within 100 ms are answered once; a project switch among them wins (the pages loaded so far
  // belong to the old project, so reloading them would keep the new one's grid empty).
  let refreshTimer: ReturnType<typeof setTimeout> | null = null
  let projectChanged = false
  api.on('library-changed', ({ reason }) => {
    if (reason === 'labels') {
      void loadStats()
      return
    }
    if (reason === 'project') projectChanged = true
    if (refreshTimer) clearTimeout(refreshTimer)
    refreshTimer = setTimeout(() => {
      refreshTimer = null
      const switched = projectChanged
      projectChanged = false
      void (switched ? refresh() : reloadLoaded())
    }, 100)
  })

  return {
    filter,
    sort,
    predictionRun,
    showPredictions,
    total,
    ready,
    pages,
    selection,
    focusedIndex,
    anchorIndex,
    stats,
    detailOpen,
    detail,
    lastSplit,
    focusedItem,
    filterActive,
    itemAt,
    ensureRange,
    loadStats,
    refresh,
    reloadLoaded,
    setFilter,
    setSort,
    clearFilters,
    showImages,
    clearImageIds,
    reset,
    setFocus,
    moveFocus,
    toggleSelected,
    selectRange,
    selectAll,
    clearSelection,
    focusNextUnlabelled,
    snapshotLabels,
    patchLabels,
    openDetail,
    closeDetail,
    split,
    thumbUrl,
    fullUrl
  }
})
