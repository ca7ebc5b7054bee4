// The class list with live counts, and the class manager's operations.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ClassInfo } from '@shared/types'
import { getApi } from '@renderer/api'
import { classLabel, positionForKey } from '@renderer/lib/classKeys'
import { errorInfo, type ErrorInfo } from '@renderer/i18n/errors'
import { errorMessage, useNotifyStore } from './notify'

export const useClassesStore = defineStore('classes', () => {
  const api = getApi()
  const notify = useNotifyStore()
  /** Classes in shortcut order (by position). */
  const list = ref<ClassInfo[]>([])
  /** Last error of a class operation, shown in the class manager. */
  const error = ref<string | null>(null)
  /** The same error as data (its catalogue code and parameters), so a view words it in the current language. */
  const errorDetail = ref<ErrorInfo | null>(null)

  /** Classes by id, for labels under thumbnails. */
  const byId = computed(() => new Map(list.value.map((c) => [c.id, c])))

  async function load(): Promise<void> {
    try {
      const classes = await api.invoke('classes:list', {})
      list.value = [...classes].sort((a, b) => a.position - b.position)
    } catch (e) {
      notify.error('app.error', { message: errorMessage(e) })
    }
  }

  /** The class a shortcut key assigns, if any. */
  function forKey(key: string): ClassInfo | null {
    const pos = positionForKey(key)
    if (pos === null) return null
    return list.value[pos] ?? null
  }

  /** A class as every view names it ("12 · Priority road"); the fallback when the class is gone. */
  function labelOf(id: number, fallback?: string): string {
    const c = byId.value.get(id)
    return c ? classLabel(c) : (fallback ?? String(id))
  }

  /** Optimistic count change while a label request is in flight. */
  function adjustCount(classId: number, delta: number): void {
    const c = list.value.find((x) => x.id === classId)
    if (c) c.count = Math.max(0, c.count + delta)
  }

  // Every mutation reloads the list: positions and counts are the backend's to decide.
  async function run<T>(op: () => Promise<T>): Promise<T | null> {
    error.value = null
    errorDetail.value = null
    try {
      const result = await op()
      await load()
      return result
    } catch (e) {
      error.value = errorMessage(e)
      errorDetail.value = errorInfo(e)
      return null
    }
  }

  // Counts change with imports, merges, splits and label edits made anywhere (another window included).
  let timer: ReturnType<typeof setTimeout> | null = null
  api.on('library-changed', () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      void load()
    }, 150)
  })

  return {
    list,
    error,
    errorDetail,
    byId,
    load,
    forKey,
    labelOf,
    adjustCount,
    add: (name: string) => run(() => api.invoke('classes:add', { name: name.trim() })),
    rename: (id: number, name: string) => run(() => api.invoke('classes:rename', { id, name: name.trim() })),
    merge: (sourceId: number, targetId: number) =>
      run(() => api.invoke('classes:merge', { sourceId, targetId })),
    remove: (id: number, reassignTo: number | null) =>
      run(() => api.invoke('classes:delete', { id, reassignTo }))
  }
})
