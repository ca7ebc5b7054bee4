// The renderer's StudioApi over the REAL backend (createBackend on a temporary project), for store and
// component tests: every invoke goes through the same dispatch as the WebSocket and Electron transports, its
// arguments and answers cross a JSON boundary as they do under `serve`, and errors arrive as the RemoteError
// the WebSocket client raises. Training and prediction run in forked workers (the TypeScript entries through
// jiti), so happy-dom's globals never reach TF.js. What this file adds is only what a test needs to look at
// or stage: the calls the UI made, transport latency, and project fixtures built with the real services.
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createHash } from 'node:crypto'
import type { Channel, EventName, Events, HandlerArgs, HandlerResult, StudioApi } from '@shared/ipc'
import type { TrainConfig } from '@shared/training'
import { RemoteError } from '@renderer/api/ws'
import { createBackend, type Backend } from '../../../src/main/backend'
import type { ModelHubOptions } from '../../../src/main/hub'
import { dispatch, serializeError } from '../../../src/main/server/dispatch'
import { forkRunner } from '../../../src/main/training/trainingService'
import { runsRoot } from '../../../src/main/project/paths'
import { defaultTrainConfig } from '../../../src/main/ml/train/config'
import { SHARED_DATA, tempDir } from '../../helpers'

const SRC = resolve(__dirname, '../../../src/main')
const JITI = ['--import', 'jiti/register']

export interface RealApi extends StudioApi {
  backend: Backend
  /** The temporary folder holding the app data, the project and anything a test writes. */
  dir: string
  /** The open project's file, or null when created without one. */
  projectPath: string | null
  /** Every invoke the UI made, in order (channel and args as sent), so tests can check what it asked for. */
  calls: { channel: Channel; args: unknown }[]
  /** Hold the next invoke of a channel for `ms` before it reaches the backend (a slow transport). */
  delayNext(channel: Channel, ms: number): void
  /** Stop imports and runs, close the project and remove the folder. */
  dispose(): Promise<void>
}

export interface RealApiOptions {
  /** Open (or create) a project; default true. */
  project?: boolean
  /** Copy this project file (and its runs folder) instead of creating an empty one. */
  from?: string
  /** The model hub's options; its cache is in the temporary folder unless `dir` says otherwise. */
  hub?: ModelHubOptions
}

export async function createRealApi(opts: RealApiOptions = {}): Promise<RealApi> {
  const tmp = tempDir('ts-renderer-')
  const projectPath = opts.project === false ? null : join(tmp.dir, 'signs.tsproj')
  if (projectPath && opts.from) copyProject(opts.from, projectPath)
  const backend = createBackend({
    dataDir: join(tmp.dir, 'appdata'),
    projectPath: projectPath ?? undefined,
    runner: forkRunner({ entry: join(SRC, 'ml/worker/trainWorker.ts'), execArgv: JITI }),
    inferenceWorker: { entry: join(SRC, 'ml/worker/inferenceWorker.ts'), execArgv: JITI },
    hub: { dir: join(tmp.dir, 'models'), ...opts.hub }
  })
  const calls: RealApi['calls'] = []
  const delays = new Map<Channel, number>()
  const inFlight = new Set<Promise<unknown>>()
  const json = <T>(value: T): T => (value === undefined ? value : JSON.parse(JSON.stringify(value)))
  return {
    backend,
    dir: tmp.dir,
    projectPath,
    calls,
    delayNext: (channel, ms) => delays.set(channel, ms),
    invoke<C extends Channel>(channel: C, args: HandlerArgs<C>): Promise<HandlerResult<C>> {
      calls.push({ channel, args: json(args) })
      const delay = delays.get(channel) ?? 0
      delays.delete(channel)
      // Like a transport: the call leaves this turn, and its arguments are cloned on the way.
      const sent = json(args)
      const call = (async () => {
        await new Promise((r) => setTimeout(r, delay))
        try {
          return json((await dispatch(backend, channel, sent)) as HandlerResult<C>)
        } catch (error) {
          throw new RemoteError(serializeError(error))
        }
      })()
      inFlight.add(call)
      void call.then(
        () => inFlight.delete(call),
        () => inFlight.delete(call)
      )
      return call
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void) {
      return backend.on(event, (payload) => listener(json(payload)))
    },
    imageUrl: (id, kind, version) => `/media/${kind}/${id}${version ? `?v=${version}` : ''}`,
    async dispose() {
      // Let the calls already sent be answered first (for at most 2 s: a download may never end), so that
      // no store of this test acts on them, and on its Pinia, once the next test has begun.
      const deadline = Date.now() + 2000
      while (inFlight.size > 0 && Date.now() < deadline) {
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))
        ])
        clearTimeout(timer)
      }
      await backend.dispose()
      tmp.remove()
    }
  }
}

/** Copy a closed project file and its runs folder (trained models) to `to`. */
function copyProject(from: string, to: string): void {
  cpSync(from, to)
  try {
    cpSync(runsRoot(from), runsRoot(to), { recursive: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/**
 * Add `count` image rows through the real repository in one transaction, for tests about paging, selection
 * and labels at sizes (50,000) where writing and decoding real files would only cost time. Their files do
 * not exist; tests that look at pixels or train import real images instead (`linkSigns`).
 */
export async function seedImages(
  api: RealApi,
  opts: { count: number; classes?: string[]; labelled?: (i: number) => number | null }
): Promise<void> {
  for (const name of opts.classes ?? []) await api.backend.handlers['classes:add']({ name })
  const { db, repo } = api.backend.services.projects.require()
  const at = '2026-01-01T00:00:00Z'
  db.transaction(() => {
    const importId = repo.startImport('/data', 'folders', at)
    for (let i = 0; i < opts.count; i++) {
      const fileName = `${String(Math.floor(i / 30)).padStart(5, '0')}_${String(i % 30).padStart(5, '0')}.ppm`
      repo.insertImage({
        path: `/data/${fileName}`,
        fileName,
        importRoot: '/data',
        hash: createHash('sha1').update(String(i)).digest('hex'),
        format: 'ppm',
        sizeBytes: 3089,
        width: 32,
        height: 32,
        classId: opts.labelled?.(i) ?? null,
        groupKey: fileName.slice(0, 5),
        roi: null,
        cropToRoi: false,
        importedAt: at,
        importId
      })
    }
    repo.finishImport(importId, {
      status: 'done',
      imported: opts.count,
      skippedDuplicates: 0,
      moved: 0,
      failed: 0,
      finishedAt: at
    })
  }).immediate()
}

/** GTSRB class ids and the names the tests give them. */
export const SIGNS = [
  { classId: 1, name: 'Speed limit (30km/h)' },
  { classId: 13, name: 'Yield' },
  { classId: 14, name: 'Stop' },
  { classId: 17, name: 'No entry' }
] as const

/**
 * A folder of real GTSRB frames (symlinks into ../shared/data): `perClass` frames of each of SIGNS in a folder
 * named after the sign, and `unlabelled` more frames at the top, which a folder-labelled import leaves
 * without a class.
 */
export function linkSigns(dir: string, perClass: number, unlabelled = 0): string {
  mkdirSync(dir, { recursive: true })
  for (const sign of SIGNS) {
    const own = join(dir, sign.name)
    mkdirSync(own, { recursive: true })
    for (let i = 0; i < perClass; i++) link(sign.classId, i, join(own, `${i}.ppm`))
  }
  for (let k = 0; k < unlabelled; k++) link(SIGNS[k % SIGNS.length].classId, 149 - k, join(dir, `u${k}.ppm`))
  return dir
}

function link(classId: number, index: number, to: string): void {
  const folder = join(SHARED_DATA, 'gtsrb-train', String(classId))
  symlinkSync(join(folder, trainFiles(folder)[index]), to)
}

const listings = new Map<string, string[]>()
function trainFiles(folder: string): string[] {
  let files = listings.get(folder)
  if (!files) {
    files = readdirSync(folder).filter((f) => f.endsWith('.ppm'))
    files.sort()
    listings.set(folder, files)
  }
  return files
}

/** The stored labels of these images, read from the project's database. */
export async function labelsOf(api: RealApi, ids: number[]): Promise<(number | null)[]> {
  const labels = api.backend.services.projects.require().repo.labelsOf(ids)
  return ids.map((id) => labels.get(id) ?? null)
}

/** Wait for queued timers and promises. */
export async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms))
}

export interface BuiltProject {
  /** The closed project file; open copies with `createRealApi({ from })`. */
  path: string
  /** The completed run, when one was trained. */
  runId: number | null
  remove(): void
}

/**
 * Build a project once (for a describe's `beforeAll`) with the real services: import `perClass` real frames
 * of each of SIGNS (and `unlabelled` more), then optionally split it by track, train one run of the compact
 * CNN to completion and evaluate it on the test split. Tests open copies, so each starts from the same state.
 */
export async function buildProject(opts: {
  perClass: number
  unlabelled?: number
  split?: boolean
  train?: Partial<TrainConfig>
  evaluate?: boolean
}): Promise<BuiltProject> {
  const tmp = tempDir('ts-renderer-project-')
  const path = join(tmp.dir, 'signs.tsproj')
  const backend = createBackend({
    dataDir: join(tmp.dir, 'appdata'),
    projectPath: path,
    runner: forkRunner({ entry: join(SRC, 'ml/worker/trainWorker.ts'), execArgv: JITI })
  })
  let runId: number | null = null
  try {
    const folder = linkSigns(join(tmp.dir, 'signs'), opts.perClass, opts.unlabelled ?? 0)
    await backend.handlers['library:import']({ folder, labels: 'folders' })
    if (opts.split || opts.train) {
      await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
    }
    if (opts.train) {
      const ended = new Promise<string>((ok) =>
        backend.on('training-progress', (e) => {
          if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') {
            ok(e.type === 'failed' ? `failed: ${e.error.message}` : e.type)
          }
        })
      )
      const config = { ...defaultTrainConfig('custom'), epochs: 1, ...opts.train }
      runId = (await backend.handlers['training:start']({ config })).runId
      const end = await ended
      if (end !== 'completed') throw new Error(`the fixture run did not complete: ${end}`)
      if (opts.evaluate) await backend.handlers['training:evaluate']({ runId })
    }
  } finally {
    await backend.dispose()
  }
  return { path, runId, remove: tmp.remove }
}
