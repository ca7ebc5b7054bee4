// The open project and the recent-projects list.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ProjectInfo, RecentProject } from '@shared/types'
import { getApi } from '@renderer/api'
import { errorInfo, type ErrorInfo } from '@renderer/i18n/errors'
import { errorMessage } from './notify'

export const useProjectStore = defineStore('project', () => {
  const api = getApi()
  /** The open project, or null on the start screen. */
  const current = ref<ProjectInfo | null>(null)
  /** Recently opened projects, newest first. */
  const recent = ref<RecentProject[]>([])
  /** True until the first `project:current` answer, so the UI does not flash the start screen. */
  const loading = ref(true)
  /** Last create/open error, shown on the start screen. */
  const error = ref<string | null>(null)
  /** The same error as data (its catalogue code and parameters), so a view words it in the current language. */
  const errorDetail = ref<ErrorInfo | null>(null)

  async function load(): Promise<void> {
    try {
      const [cur, rec] = await Promise.all([
        api.invoke('project:current', {}),
        api.invoke('project:recent', {})
      ])
      current.value = cur
      recent.value = rec
      error.value = null
      errorDetail.value = null
      errorDetail.value = null
    } catch (e) {
      error.value = errorMessage(e)
      errorDetail.value = errorInfo(e)
    } finally {
      loading.value = false
    }
  }

  async function openWith(channel: 'project:create' | 'project:open', path: string): Promise<boolean> {
    error.value = null
    errorDetail.value = null
    try {
      current.value = await api.invoke(channel, { path: path.trim() })
      recent.value = await api.invoke('project:recent', {}).catch(() => recent.value)
      return true
    } catch (e) {
      error.value = errorMessage(e)
      errorDetail.value = errorInfo(e)
      return false
    }
  }

  // Another window (or the CLI's serve) may switch projects; follow it.
  api.on('library-changed', ({ reason }) => {
    if (reason === 'project' && current.value) void load()
  })

  /** Back to the start screen; the backend keeps the project open until another is opened. */
  function leave(): void {
    current.value = null
    void api.invoke('project:recent', {}).then(
      (r) => (recent.value = r),
      () => undefined
    )
  }

  return {
    current,
    recent,
    loading,
    error,
    errorDetail,
    load,
    create: (path: string) => openWith('project:create', path),
    open: (path: string) => openWith('project:open', path),
    leave
  }
})
