// The About / status screen's data: the doctor's report (`system:doctor`): the backend that trains and why,
// the cores it uses, onnxruntime, and the advice with its commands. Read when the screen first opens and
// kept, since it does not change while the backend runs; its sentences stay coded and are worded at render.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DoctorReport } from '@shared/doctor'
import { getApi } from '@renderer/api'
import { errorInfo, type ErrorInfo } from '@renderer/i18n/errors'

export const useAboutStore = defineStore('about', () => {
  /** The report, once read. */
  const report = ref<DoctorReport | null>(null)
  /** True while it is read (the backend's first read starts TF.js: about a second). */
  const loading = ref(false)
  /** Why the last read failed, kept as a code so a language switch rewords it. */
  const error = ref<ErrorInfo | null>(null)

  async function load(): Promise<void> {
    if (report.value || loading.value) return
    loading.value = true
    error.value = null
    try {
      report.value = await getApi().invoke('system:doctor', {})
    } catch (e) {
      error.value = errorInfo(e)
    } finally {
      loading.value = false
    }
  }

  return { report, loading, error, load }
})
