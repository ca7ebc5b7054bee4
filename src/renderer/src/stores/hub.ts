// The model hub as the UI sees it: the catalogue's pretrained models with their cache state (`hub:list`),
// downloads with live progress from `hub-progress` events, cancel, retry (a failed or cancelled download
// resumes what the backend kept) and remove. The formatting of sizes, rates and times left lives here so the
// components only place it; words go through i18n keys, as in the other stores.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { HubModel, HubProgressEvent } from '@shared/hubIpc'
import { getApi } from '@renderer/api'
import { errorMessage } from './notify'

/**
 * The hub models the wizard recommends, best first: on 32 px traffic signs a small modern backbone beats
 * AlexNet's fc7 features and trains fast. The first of these the catalogue offers is marked.
 */
export const PREFERRED_HUB_MODELS: readonly string[] = ['mobilenet_v3_small', 'resnet18']

/** What a row shows for a model. */
export type HubRowState = 'downloaded' | 'downloading' | 'failed' | 'partial' | 'absent'

/** Bytes in decimal units (MB = 10^6 bytes, as the catalogue and the backend's messages count). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–'
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`
  return `${Math.round(bytes)} B`
}

/** Size in MB for the list's column (one decimal, two below 1 MB so tiny files do not read 0.0). */
export function formatMegabytes(bytes: number): string {
  const mb = bytes / 1e6
  return mb >= 1 ? mb.toFixed(1) : mb.toFixed(2)
}

/** A download rate in MB/s (KB/s below 0.1 MB/s). */
export function formatRate(bytesPerSecond: number): string {
  if (!(bytesPerSecond > 0)) return '–'
  if (bytesPerSecond < 1e5) return `${(bytesPerSecond / 1e3).toFixed(0)} KB/s`
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`
}

/** Time left as an i18n key and its parameters (`wizard.base.hub.eta.*`); null while unknown. */
export function formatEta(
  seconds: number | null
): { key: 'seconds' | 'minutes' | 'hours'; params: { h?: number; m?: number; s?: number } } | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null
  const total = Math.ceil(seconds)
  if (total < 60) return { key: 'seconds', params: { s: total } }
  if (total < 3600) return { key: 'minutes', params: { m: Math.floor(total / 60), s: total % 60 } }
  return { key: 'hours', params: { h: Math.floor(total / 3600), m: Math.floor((total % 3600) / 60) } }
}

/** A copy of a per-model record without `id`'s entry. */
function without<T>(record: Record<string, T>, id: string): Record<string, T> {
  const copy = { ...record }
  delete copy[id]
  return copy
}

export const useHubStore = defineStore('hub', () => {
  const api = getApi()

  const models = ref<HubModel[]>([])
  /** The cache folder the backend keeps the files in. */
  const dir = ref('')
  const loading = ref(false)
  const loaded = ref(false)
  /** Why the list could not be loaded. */
  const error = ref<string | null>(null)
  /** The latest progress of each running download, by model id. */
  const progress = ref<Record<string, HubProgressEvent>>({})
  /** Why the last download of a model failed, by id (cleared by the next try). */
  const failures = ref<Record<string, string>>({})
  /** Models whose download the user cancelled and that have not ended yet. */
  const cancelling = ref<Record<string, boolean>>({})

  const byId = computed(() => new Map(models.value.map((m) => [m.id, m])))
  /** The first of PREFERRED_HUB_MODELS in the catalogue, or null. */
  const recommendedId = computed(() => PREFERRED_HUB_MODELS.find((id) => byId.value.has(id)) ?? null)
  const downloaded = computed(() => models.value.filter((m) => m.downloaded))

  function patch(id: string, changes: Partial<HubModel>): void {
    const i = models.value.findIndex((m) => m.id === id)
    if (i >= 0) models.value[i] = { ...models.value[i], ...changes }
  }

  api.on('hub-progress', (event) => {
    if (event.state === 'downloading') {
      progress.value = { ...progress.value, [event.id]: event }
      patch(event.id, { downloading: true })
      return
    }
    progress.value = without(progress.value, event.id)
    if (event.state === 'done') {
      patch(event.id, { downloading: false, downloaded: true, partialBytes: 0 })
    } else {
      patch(event.id, { downloading: false })
      // Cancelled from here or by another client: the download's rejection is then no failure.
      if (event.state === 'cancelled') cancelling.value = { ...cancelling.value, [event.id]: true }
      if (event.state === 'failed')
        failures.value = {
          ...failures.value,
          [event.id]: errorMessage({
            message: event.error ?? '',
            code: event.errorCode,
            params: event.errorParams
          })
        }
    }
  })

  function stateOf(id: string): HubRowState {
    const m = byId.value.get(id)
    if (!m) return 'absent'
    if (m.downloaded) return 'downloaded'
    if (m.downloading || progress.value[id]) return 'downloading'
    if (failures.value[id] !== undefined) return 'failed'
    if (m.partialBytes > 0) return 'partial'
    return 'absent'
  }

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const r = await api.invoke('hub:list', {})
      models.value = r.models
      dir.value = r.dir
      loaded.value = true
    } catch (e) {
      error.value = errorMessage(e)
    } finally {
      loading.value = false
    }
  }

  /** Download a model (resuming what an earlier try left); the model when it is in the cache, else null. */
  async function download(id: string): Promise<HubModel | null> {
    failures.value = without(failures.value, id)
    const m = byId.value.get(id)
    if (m && !progress.value[id]) {
      progress.value = {
        ...progress.value,
        [id]: {
          id,
          state: 'downloading',
          bytesDone: m.partialBytes,
          bytesTotal: m.bytes,
          rate: 0,
          etaSeconds: null
        }
      }
    }
    patch(id, { downloading: true })
    try {
      const result = await api.invoke('hub:download', { id })
      patch(id, { ...result, downloading: false })
      return result
    } catch (e) {
      if (!cancelling.value[id]) failures.value = { ...failures.value, [id]: errorMessage(e) }
      return null
    } finally {
      progress.value = without(progress.value, id)
      cancelling.value = without(cancelling.value, id)
      patch(id, { downloading: false })
      // The cache decides what is left of an interrupted download (its partial size).
      if (!byId.value.get(id)?.downloaded) await load()
    }
  }

  async function cancel(id: string): Promise<void> {
    cancelling.value = { ...cancelling.value, [id]: true }
    try {
      await api.invoke('hub:cancelDownload', { id })
    } catch (e) {
      failures.value = { ...failures.value, [id]: errorMessage(e) }
    }
  }

  async function remove(id: string): Promise<boolean> {
    try {
      const r = await api.invoke('hub:remove', { id })
      await load()
      return r.removed
    } catch (e) {
      failures.value = { ...failures.value, [id]: errorMessage(e) }
      return false
    }
  }

  return {
    models,
    dir,
    loading,
    loaded,
    error,
    progress,
    failures,
    cancelling,
    recommendedId,
    downloaded,
    stateOf,
    load,
    download,
    cancel,
    remove
  }
})
