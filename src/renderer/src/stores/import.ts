// A running import: its progress (from `import-progress` events), cancellation, and the final summary with
// the files that failed and why.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ImportProgressEvent, ImportRequest, ImportSummary } from '@shared/types'
import { getApi } from '@renderer/api'
import { useClassesStore } from './classes'
import { useLibraryStore } from './library'
import { errorMessage } from './notify'

/** What the import dialog's form holds. */
export interface ImportForm {
  folder: string
  labels: ImportRequest['labels']
  namesCsv: string
  annotationsCsv: string
  crop: boolean
}

export const useImportStore = defineStore('import', () => {
  const api = getApi()
  const library = useLibraryStore()
  const classes = useClassesStore()

  /** True while `library:import` has not answered. */
  const running = ref(false)
  /** Latest progress event of the running (or last) import. */
  const progress = ref<ImportProgressEvent | null>(null)
  /** Summary of the last finished import. */
  const summary = ref<ImportSummary | null>(null)
  /** Error of the last import, when the request itself failed. */
  const error = ref<string | null>(null)
  /** True between a cancel request and the import's end. */
  const cancelling = ref(false)
  /** The form as last sent (the dialog reopens with it, so a failed import keeps its path and mode). */
  const lastForm = ref<ImportForm | null>(null)

  /** 0..1, or null while the total is unknown. */
  const fraction = computed(() => {
    const p = progress.value
    if (!p || p.total === 0) return null
    return Math.min(1, p.done / p.total)
  })

  let lastRefresh = 0
  api.on('import-progress', (event) => {
    progress.value = event
    // Let the grid fill while a long import runs, without reloading on every event.
    const now = Date.now()
    if (event.phase === 'importing' && now - lastRefresh > 1500) {
      lastRefresh = now
      void library.reloadLoaded()
      void classes.load()
    }
  })

  /** True when a finished import found nothing to import at all (an empty folder, or no image in it). */
  const foundNothing = computed(() => {
    const s = summary.value
    return (
      s !== null && s.status === 'done' && s.imported + s.skippedDuplicates + s.moved + s.failed.length === 0
    )
  })

  async function start(request: ImportRequest, form?: ImportForm): Promise<ImportSummary | null> {
    if (form) lastForm.value = { ...form }
    running.value = true
    cancelling.value = false
    summary.value = null
    error.value = null
    progress.value = null
    try {
      const req: ImportRequest = { folder: request.folder.trim(), labels: request.labels }
      if (request.namesCsv?.trim()) req.namesCsv = request.namesCsv.trim()
      if (request.annotationsCsv?.trim()) req.annotationsCsv = request.annotationsCsv.trim()
      if (request.cropToRoi) req.cropToRoi = true
      summary.value = await api.invoke('library:import', req)
      return summary.value
    } catch (e) {
      error.value = errorMessage(e)
      return null
    } finally {
      running.value = false
      cancelling.value = false
      await Promise.all([library.refresh({ keepFocus: true }), classes.load()])
    }
  }

  async function cancel(): Promise<void> {
    const id = progress.value?.importId
    if (id === undefined || !running.value) return
    cancelling.value = true
    try {
      await api.invoke('library:cancelImport', { importId: id })
    } catch (e) {
      error.value = errorMessage(e)
      cancelling.value = false
    }
  }

  /** Forget the last result (the dialog was closed). */
  function reset(): void {
    if (running.value) return
    summary.value = null
    error.value = null
    progress.value = null
  }

  return {
    running,
    progress,
    summary,
    error,
    cancelling,
    lastForm,
    foundNothing,
    fraction,
    start,
    cancel,
    reset
  }
})
