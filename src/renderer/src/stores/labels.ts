// Labelling: optimistic label changes that roll back (and say so) when the backend refuses, plus undo/redo.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { getApi } from '@renderer/api'
import { useClassesStore } from './classes'
import { useLibraryStore } from './library'
import { errorMessage, useNotifyStore } from './notify'

export const useLabelsStore = defineStore('labels', () => {
  const api = getApi()
  const library = useLibraryStore()
  const classes = useClassesStore()
  const notify = useNotifyStore()

  /** Whether the backend has a change to undo. */
  const canUndo = ref(false)
  /** Whether the backend has an undone change to redo. */
  const canRedo = ref(false)
  /** Label requests still in flight (undo waits for them, so it undoes what the user saw). */
  const pending = ref(0)
  let chain: Promise<unknown> = Promise.resolve()

  // Requests run one after another so the backend's undo stack matches the order of key presses.
  function enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = chain.then(job, job)
    chain = next.catch(() => undefined)
    return next
  }

  /** Label images (null removes the label). Resolves true when the backend kept the change. */
  function setLabel(imageIds: number[], classId: number | null): Promise<boolean> {
    if (imageIds.length === 0) return Promise.resolve(false)
    const before = library.snapshotLabels(imageIds)
    const targets = new Set(imageIds)
    library.patchLabels((id) => (targets.has(id) ? classId : undefined))
    const moveCounts = (sign: 1 | -1) => {
      for (const prev of before.values()) {
        if (prev === classId) continue
        if (prev !== null) classes.adjustCount(prev, -sign)
        if (classId !== null) classes.adjustCount(classId, sign)
      }
    }
    moveCounts(1)
    pending.value++
    return enqueue(async () => {
      try {
        const result = await api.invoke('library:setLabel', { imageIds: [...imageIds], classId })
        canUndo.value = result.canUndo
        canRedo.value = result.canRedo
        const name = classId === null ? '' : classes.labelOf(classId, '')
        if (classId === null) notify.info('labels.removed', { n: imageIds.length }, imageIds.length)
        else notify.info('labels.applied', { n: imageIds.length, name }, imageIds.length)
        return true
      } catch (e) {
        library.patchLabels((id) => (before.has(id) ? before.get(id) : undefined))
        moveCounts(-1)
        notify.error('labels.failed', { message: errorMessage(e) })
        return false
      } finally {
        pending.value--
        // Counts come from the backend in the end, whatever we guessed; the next label need not wait.
        if (pending.value === 0) void Promise.all([classes.load(), library.loadStats()])
      }
    })
  }

  /**
   * The keyboard's labelling action: the selection if there is one, else the focused image; then move on.
   * The selection is cleared so the next key press labels one image, not the same group again.
   */
  function labelCurrent(classId: number | null): Promise<boolean> {
    const ids = library.selection.size > 0 ? [...library.selection] : []
    if (ids.length === 0) {
      const item = library.focusedItem
      if (!item) return Promise.resolve(false)
      ids.push(item.id)
      library.moveFocus(1)
    } else {
      library.clearSelection()
    }
    return setLabel(ids, classId)
  }

  async function step(channel: 'library:undo' | 'library:redo'): Promise<void> {
    try {
      const result = await enqueue(() => api.invoke(channel, {}))
      canUndo.value = result.canUndo
      canRedo.value = result.canRedo
      const key = channel === 'library:undo' ? 'labels.undone' : 'labels.redone'
      notify.info(key, { n: result.changed }, result.changed)
    } catch (e) {
      notify.error(channel === 'library:undo' ? 'labels.undoFailed' : 'labels.redoFailed', {
        message: errorMessage(e)
      })
    }
    // We do not know which images the step touched: re-read what is on screen.
    await Promise.all([library.reloadLoaded(), classes.load()])
  }

  /** A new project starts with an empty undo history as far as this window knows. */
  function reset(): void {
    canUndo.value = false
    canRedo.value = false
  }

  return {
    reset,
    canUndo,
    canRedo,
    pending,
    setLabel,
    labelCurrent,
    undo: () => step('library:undo'),
    redo: () => step('library:redo')
  }
})
