// Keyboard-first labelling for the library view. The handler is a plain function of the event and the
// stores, so it is tested without a browser; `useLibraryKeys` binds it to the document while mounted.
import { onBeforeUnmount, onMounted, type Ref } from 'vue'
import { useLibraryStore } from '@renderer/stores/library'
import { useClassesStore } from '@renderer/stores/classes'
import { useLabelsStore } from '@renderer/stores/labels'
import { useNotifyStore } from '@renderer/stores/notify'
import { PICKER_KEY, positionForKey } from '@renderer/lib/classKeys'

export interface KeyContext {
  /** Thumbnails per grid row (for up/down). */
  columns: number
  /** True while a modal dialog or overlay owns the keyboard. */
  modalOpen: boolean
  openHelp: () => void
  /** Opens the type-to-filter class picker (every class, also those without a one-key shortcut). */
  openPicker?: () => void
}

function isTextField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  const tag = target.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable
}

/** Handle one keydown; returns true when the key did something (and was prevented). */
export function handleLibraryKey(event: KeyboardEvent, ctx: KeyContext): boolean {
  if (ctx.modalOpen || isTextField(event.target) || event.isComposing) return false
  // A focused button (toolbar, sidebar) answers Enter and Space itself, as everywhere else.
  if ((event.key === 'Enter' || event.key === ' ') && event.target instanceof HTMLButtonElement) return false
  const library = useLibraryStore()
  const classes = useClassesStore()
  const labels = useLabelsStore()
  const notify = useNotifyStore()
  const mod = event.ctrlKey || event.metaKey
  const key = event.key
  const lower = key.length === 1 ? key.toLowerCase() : key

  const act = (fn: () => unknown): true => {
    event.preventDefault()
    void fn()
    return true
  }

  if (mod && !event.altKey) {
    if (lower === 'a') return act(() => library.selectAll())
    if (lower === 'z' && event.shiftKey) return act(() => labels.redo())
    if (lower === 'z') return act(() => labels.undo())
    if (lower === 'y') return act(() => labels.redo())
    return false
  }
  if (event.altKey) return false

  switch (key) {
    case 'ArrowLeft':
      return act(() => library.moveFocus(-1, { extend: event.shiftKey }))
    case 'ArrowRight':
      return act(() => library.moveFocus(1, { extend: event.shiftKey }))
    case 'ArrowUp':
      return act(() => library.moveFocus(-ctx.columns, { extend: event.shiftKey }))
    case 'ArrowDown':
      return act(() => library.moveFocus(ctx.columns, { extend: event.shiftKey }))
    case 'PageDown':
      return act(() => library.moveFocus(ctx.columns * 4, { extend: event.shiftKey }))
    case 'PageUp':
      return act(() => library.moveFocus(-ctx.columns * 4, { extend: event.shiftKey }))
    case 'Home':
      return act(() => library.setFocus(0, { extend: event.shiftKey }))
    case 'End':
      return act(() => library.setFocus(library.total - 1, { extend: event.shiftKey }))
    case 'Enter':
      return act(() => library.openDetail())
    case 'Escape':
      return act(() => (library.detailOpen ? library.closeDetail() : library.clearSelection()))
    case ' ':
      return act(() => {
        const item = library.focusedItem
        if (item) library.toggleSelected(item.id)
      })
    case 'Backspace':
    case 'Delete':
      return act(() => labels.labelCurrent(null))
    case '?':
      return act(() => ctx.openHelp())
    case PICKER_KEY:
      if (!ctx.openPicker) return false
      return act(() => ctx.openPicker?.())
  }
  if (lower === 'n' && !event.shiftKey) {
    return act(async () => {
      if (!(await library.focusNextUnlabelled())) notify.info('labels.allLabelled')
    })
  }
  if (key.length === 1 && !event.shiftKey) {
    const position = positionForKey(key)
    if (position === null) return false
    const cls = classes.forKey(key)
    if (!cls) return act(() => notify.info('labels.noClassForKey', { key }))
    return act(() => labels.labelCurrent(cls.id))
  }
  return false
}

/** Bind the handler to the document while the calling component is mounted. */
export function useLibraryKeys(
  columns: Ref<number>,
  modalOpen: Ref<boolean>,
  openHelp: () => void,
  openPicker?: () => void
): void {
  const listener = (event: KeyboardEvent) =>
    handleLibraryKey(event, { columns: columns.value, modalOpen: modalOpen.value, openHelp, openPicker })
  onMounted(() => document.addEventListener('keydown', listener))
  onBeforeUnmount(() => document.removeEventListener('keydown', listener))
}
