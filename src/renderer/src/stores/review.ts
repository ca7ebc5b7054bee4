// The data review screen's state (issue 16): run a review of the open project with progress and cancel, the
// last report, and the label-issue queue a user works through with the keyboard. Decisions go to the backend
// (review:decide); an accept relabels through the library's undoable setLabel, so this store tells the
// library, the class counts and the undo buttons about it, as the labelling store does for its own edits.
// A region selected on the embedding map opens in the library as an image-list filter, or takes a label
// through the labelling store (one undoable step). The backend keeps the last report beside the project, so
// `load()` brings it back after a restart.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { LabelIssue, ReviewProgressEvent, ReviewReport } from '@shared/review'
import { getApi } from '@renderer/api'
import { errorInfo, type ErrorInfo } from '@renderer/i18n/errors'
import { useClassesStore } from './classes'
import { useLabelsStore } from './labels'
import { useLibraryStore } from './library'
import { useNavStore } from './nav'
import { useNotifyStore } from './notify'

export const useReviewStore = defineStore('review', () => {
  const api = getApi()
  const classes = useClassesStore()
  const labels = useLabelsStore()
  const library = useLibraryStore()
  const nav = useNavStore()
  const notify = useNotifyStore()

  /**
   * The last finished report: this session's, or the one saved beside the project (`restored`); null before
   * the project's first review.
   */
  const report = ref<ReviewReport | null>(null)
  /** True while a review runs. */
  const running = ref(false)
  /** The running review's last progress event. */
  const progress = ref<ReviewProgressEvent | null>(null)
  /** Why the last review failed (not set for a cancel), as data so the view words it in the current language. */
  const error = ref<ErrorInfo | null>(null)
  /** The queue: the report's label issues the user has not decided about in this visit. */
  const queue = ref<LabelIssue[]>([])
  /** The queue row with the keyboard focus. */
  const index = ref(0)
  /** A decision in flight (keys are ignored until it is back, so one press decides one image). */
  const deciding = ref(false)
  /** Images in the region selected on the map (all of them, also those the map does not draw). */
  const mapSelection = ref<number[]>([])
  /** The images the map's last "Label as…" labelled: an undo re-reads their labels for the map's colours. */
  let lastMapLabel: number[] = []

  const current = computed<LabelIssue | null>(() => queue.value[index.value] ?? null)

  api.on('review-progress', (e) => {
    progress.value = e
  })

  function show(next: ReviewReport | null): void {
    report.value = next
    queue.value = next ? [...next.labelIssues] : []
    index.value = 0
    mapSelection.value = []
  }

  /** The last report of this project, after a reload or when the view opens. */
  async function load(): Promise<void> {
    if (running.value) return
    try {
      show(await api.invoke('review:result', {}))
    } catch (e) {
      error.value = errorInfo(e)
    }
  }

  /** Run a review; resolves when it is done, failed or cancelled. */
  async function start(opts: { epochs?: number; folds?: number } = {}): Promise<void> {
    if (running.value) return
    running.value = true
    error.value = null
    progress.value = null
    try {
      show(await api.invoke('review:start', { ...opts }))
    } catch (e) {
      const info = errorInfo(e)
      if (info.code !== 'review.cancelled') error.value = info
    } finally {
      running.value = false
    }
  }

  async function cancel(): Promise<void> {
    await api.invoke('review:cancel', {}).catch(() => undefined)
  }

  function move(delta: number): void {
    if (queue.value.length === 0) return
    index.value = Math.min(queue.value.length - 1, Math.max(0, index.value + delta))
  }

  /** Skip: leave the image as it is, undecided, and go on (it stays in the list). */
  function skip(): void {
    move(1)
  }

  /**
   * Accept the suggested class or keep the label of the focused issue. The row leaves the queue; the focus
   * stays on the same position, which is now the next issue.
   */
  async function decide(decision: 'accept' | 'keep'): Promise<boolean> {
    const issue = current.value
    if (!issue || deciding.value) return false
    deciding.value = true
    try {
      await api.invoke('review:decide', {
        imageId: issue.imageId,
        decision,
        classId: decision === 'accept' ? issue.suggestedClassId : undefined
      })
      queue.value = queue.value.filter((q) => q.imageId !== issue.imageId)
      if (index.value >= queue.value.length) index.value = Math.max(0, queue.value.length - 1)
      if (decision === 'accept') {
        // The backend's setLabel went on the library's undo stack; our grid patches only its own edits.
        labels.canUndo = true
        labels.canRedo = false
        notify.info('review.accepted', { name: classes.labelOf(issue.suggestedClassId, issue.suggested) })
        await Promise.all([library.reloadLoaded(), classes.load()])
      } else {
        notify.info('review.kept', { name: classes.labelOf(issue.classId, issue.label) })
      }
      return true
    } catch (e) {
      error.value = errorInfo(e)
      return false
    } finally {
      deciding.value = false
    }
  }

  /**
   * Show the image in the library: the grid filtered to its file name and its class (file names repeat
   * across class folders, and the library searches names, not paths).
   */
  function openInLibrary(path: string, classId: number | null): void {
    const name = path.split(/[\\/]/).pop() ?? path
    library.setFilter(
      classId === null ? { search: name, unlabelled: true } : { search: name, classIds: [classId] }
    )
    nav.go('library')
  }

  /** Open the library filtered to exactly the images selected on the map. */
  function showSelectionInLibrary(): void {
    if (mapSelection.value.length === 0) return
    library.showImages(mapSelection.value)
    nav.go('library')
  }

  /** Give every image selected on the map one class, as one undoable step of the library's labelling. */
  async function labelSelection(classId: number): Promise<boolean> {
    const ids = [...mapSelection.value]
    if (ids.length === 0) return false
    const ok = await labels.setLabel(ids, classId)
    if (ok) {
      lastMapLabel = ids
      patchMapLabels(new Map(ids.map((id) => [id, classId])))
    }
    return ok
  }

  function patchMapLabels(classOf: Map<number, number | null>): void {
    const r = report.value
    if (!r?.map) return
    report.value = {
      ...r,
      map: r.map.map((p) => (classOf.has(p.imageId) ? { ...p, classId: classOf.get(p.imageId)! } : p))
    }
  }

  /** Undo or redo the library's last label change, then recolour the map's last labelled images. */
  async function undoRedo(redo: boolean): Promise<void> {
    await (redo ? labels.redo() : labels.undo())
    if (lastMapLabel.length === 0) return
    try {
      const classOf = new Map<number, number | null>()
      for (let offset = 0; ; offset += 1000) {
        const page = await api.invoke('library:query', {
          filter: { imageIds: [...lastMapLabel] },
          offset,
          limit: 1000
        })
        for (const im of page.items) classOf.set(im.id, im.classId)
        if (offset + 1000 >= page.total) break
      }
      patchMapLabels(classOf)
    } catch (e) {
      error.value = errorInfo(e)
    }
  }

  function reset(): void {
    show(null)
    running.value = false
    progress.value = null
    error.value = null
  }

  return {
    report,
    running,
    progress,
    error,
    queue,
    index,
    deciding,
    mapSelection,
    current,
    load,
    start,
    cancel,
    move,
    skip,
    decide,
    openInLibrary,
    showSelectionInLibrary,
    labelSelection,
    undoRedo,
    reset
  }
})
