// The model hub's channels (src/shared/hubIpc.ts) over ModelHubService: the catalogue with the cache's
// state, downloads (one per model at a time, each with its AbortController, progress pushed as
// `hub-progress`), cancel and remove. The hub streams and hashes in its own I/O callbacks, so nothing here
// holds the event loop.
import { reasonOf, toUserError } from '../errors/userError'
import { CodedError } from '../errors'

/** A failed download as a coded message: a checksum mismatch has its own sentence, the rest name the detail. */
function hubFailure(id: string, err: unknown): CodedError {
  if (err instanceof HubError && err.code === 'hash')
    return new CodedError('hub.hashMismatch', { id }, 'HubError')
  return new CodedError('hub.failed', { id, ...reasonOf(err) }, 'HubError')
}
import type { HubModel, HubProgressEvent, HubResults } from '../../shared/hubIpc'
import { HubError, type ModelHub, type ModelListing } from '../hub'
import { defineHandlers, type HandlerSlice } from './parse'

export interface HubDeps {
  hub: ModelHub & { readonly dir: string }
  emit(event: 'hub-progress', payload: HubProgressEvent): void
}

/** Downloads in flight, by model id; the backend's dispose() cancels them. */
export interface HubDownloads {
  cancelAll(): Promise<void>
}

function toModel(m: ModelListing, downloading: boolean): HubModel {
  return {
    id: m.id,
    name: m.name,
    architecture: m.architecture,
    format: m.format,
    bytes: m.bytes,
    inputSize: m.input_size,
    imagenetTop1: m.imagenet_top1,
    params: m.params,
    licence: m.licence,
    downloaded: m.downloaded,
    partialBytes: m.partialBytes,
    downloading
  }
}

export function createHubHandlers(deps: HubDeps): {
  handlers: HandlerSlice<keyof HubResults>
  downloads: HubDownloads
} {
  const { hub, emit } = deps
  const running = new Map<string, { controller: AbortController; done: Promise<unknown> }>()

  async function listing(id: string): Promise<HubModel> {
    const m = (await hub.list()).find((e) => e.id === id)
    if (!m) throw new HubError('no-match', `no model "${id}" in the catalogue`)
    return toModel(m, running.has(id))
  }

  async function download(id: string): Promise<HubModel> {
    const existing = running.get(id)
    if (existing) {
      // A second client asking for the same model waits for the same download.
      await existing.done
      return listing(id)
    }
    const controller = new AbortController()
    let last: HubProgressEvent = {
      id,
      state: 'downloading',
      bytesDone: 0,
      bytesTotal: 0,
      rate: 0,
      etaSeconds: null
    }
    const done = hub.download(id, {
      signal: controller.signal,
      onProgress: (p) => {
        last = {
          id,
          state: 'downloading',
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          rate: p.rate,
          etaSeconds: p.etaSeconds
        }
        emit('hub-progress', last)
      }
    })
    running.set(id, { controller, done: done.catch(() => undefined) })
    try {
      const result = await done
      emit('hub-progress', {
        ...last,
        state: 'done',
        bytesDone: result.bytes,
        bytesTotal: result.bytes,
        etaSeconds: 0
      })
    } catch (err) {
      const cancelled = err instanceof HubError && err.code === 'cancelled'
      // Worded from the catalogue, so the UI says in its language which download failed and why.
      const failure = cancelled ? err : hubFailure(id, err)
      const shown = toUserError(failure)
      emit('hub-progress', {
        ...last,
        state: cancelled ? 'cancelled' : 'failed',
        etaSeconds: null,
        ...(cancelled ? {} : { error: shown.message, errorCode: shown.code, errorParams: shown.params })
      })
      throw failure
    } finally {
      running.delete(id)
    }
    return listing(id)
  }

  const handlers = defineHandlers<keyof HubResults>({
    'hub:list': async () => ({
      models: (await hub.list()).map((m) => toModel(m, running.has(m.id))),
      dir: hub.dir
    }),
    'hub:download': ({ id }) => download(id),
    'hub:cancelDownload': ({ id }) => {
      const job = running.get(id)
      job?.controller.abort()
      return { cancelled: !!job }
    },
    'hub:remove': async ({ id }) => {
      if (running.has(id)) throw new HubError('busy', `${id} is downloading; cancel the download first`)
      return { removed: (await hub.remove(id)).removed }
    }
  })

  return {
    handlers,
    downloads: {
      async cancelAll() {
        const jobs = [...running.values()]
        for (const job of jobs) job.controller.abort()
        await Promise.all(jobs.map((j) => j.done))
      }
    }
  }
}
