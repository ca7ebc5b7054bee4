// The model hub: the catalogue's pretrained weights in a per-user cache shared by all projects. It lists
// what is there, downloads (resumable, cancellable, verified before use, renamed into place), imports a
// file downloaded elsewhere (for offline machines; copied through a stream and verified), and removes. It
// owns each model's lifecycle in the cache; the layers below (download.ts, verify.ts) report and return.
// No Electron and no console: callers show progress from `onProgress`.
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { NotFoundError } from '../errors'
import { loadCatalogue, type CatalogueEntry } from './catalogue'
import { DEFAULT_FETCH_SETTINGS, fetchToPart, type DownloadProgress, type FetchSettings } from './download'
import { HubError } from './errors'
import { hashFileInto, openRegularFile, removeLeftovers } from './files'
import { modelCacheDir, modelPaths } from './paths'
import { verifyModelFile, type Verification } from './verify'

export type { DownloadProgress } from './download'

/** One catalogue model as the cache has it. */
export interface ModelListing extends CatalogueEntry {
  /** The verified file is in the cache. */
  downloaded: boolean
  /** Where the file is (or will be once downloaded). */
  path: string
  /** Bytes of an interrupted download that the next one resumes; 0 when there is none. */
  partialBytes: number
}

export interface DownloadResult extends Omit<Verification, 'sha256'> {
  /** The file's SHA-256; for a file already present, the catalogue's (null when it has none). */
  sha256: string | null
  id: string
  path: string
  /** The file was already in the cache; nothing was fetched. */
  alreadyPresent: boolean
  /** Bytes from an earlier attempt or run were continued with a Range request. */
  resumed: boolean
  /** HTTP requests made. */
  attempts: number
}

export interface ImportResult extends Verification {
  id: string
  path: string
}

export interface ModelHub {
  /** The catalogue's models with their cache state. */
  list(): Promise<ModelListing[]>
  /** Downloads one model into the cache (or finds it there), verified. */
  download(
    id: string,
    options?: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void }
  ): Promise<DownloadResult>
  /** Copies a local file into the cache as the catalogue model of `architecture` (or `id`) it proves to be. */
  importFile(file: string, options: { architecture: string; id?: string }): Promise<ImportResult>
  /** Deletes a model's files from the cache; `removed` is false when it was not there. */
  remove(id: string): Promise<{ id: string; removed: boolean }>
  /** The cached file of a model chosen as a base; refused (`not-downloaded`) when it is not there yet. */
  resolve(id: string): Promise<{ entry: CatalogueEntry; path: string }>
}

export interface ModelHubOptions {
  /** Read for TS_MODEL_DIR and TS_MODEL_CATALOGUE (and the OS cache folders); process.env by default. */
  env?: NodeJS.ProcessEnv
  /** The cache folder, instead of the one `env` gives. */
  dir?: string
  /** An already parsed catalogue, instead of the one `env` gives. */
  catalogue?: CatalogueEntry[]
  /** Retries, timeouts and progress pacing of downloads. */
  fetch?: Partial<FetchSettings>
}

export class ModelHubService implements ModelHub {
  readonly dir: string
  private readonly settings: FetchSettings
  private catalogue: Promise<CatalogueEntry[]> | undefined
  /** Models this process is downloading or importing. */
  private readonly busy = new Set<string>()

  constructor(private readonly options: ModelHubOptions = {}) {
    const env = options.env ?? process.env
    this.dir = resolve(options.dir ?? modelCacheDir(env))
    this.settings = { ...DEFAULT_FETCH_SETTINGS, ...options.fetch }
    if (options.catalogue) this.catalogue = Promise.resolve(options.catalogue)
  }

  /** The catalogue, read once (a bad TS_MODEL_CATALOGUE file is reported by the first call, and the next). */
  async entries(): Promise<CatalogueEntry[]> {
    this.catalogue ??= loadCatalogue(this.options.env ?? process.env)
    return this.catalogue.catch((e: unknown) => {
      this.catalogue = undefined
      throw e
    })
  }

  async list(): Promise<ModelListing[]> {
    const entries = await this.entries()
    return Promise.all(
      entries.map(async (entry) => {
        const paths = modelPaths(this.dir, entry)
        const file = await stat(paths.file).catch(() => null)
        const part = await stat(paths.part).catch(() => null)
        return {
          ...entry,
          downloaded: !!file && file.isFile() && file.size === entry.bytes,
          path: paths.file,
          partialBytes: part && part.isFile() ? part.size : 0
        }
      })
    )
  }

  async download(
    id: string,
    options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {}
  ): Promise<DownloadResult> {
    const entry = await this.entry(id)
    const paths = modelPaths(this.dir, entry)
    const cancelled = (): HubError => new HubError('cancelled', `download of ${id} cancelled`)
    if (options.signal?.aborted) throw cancelled()
    const present = await stat(paths.file).catch(() => null)
    if (present?.isFile() && present.size === entry.bytes) {
      // Verified before it was renamed into place; hashing 250 MB again on every call would be waste.
      return {
        id,
        path: paths.file,
        sha256: entry.sha256,
        bytes: entry.bytes,
        checks: [],
        alreadyPresent: true,
        resumed: false,
        attempts: 0
      }
    }
    return this.exclusively(entry, async () => {
      await mkdir(paths.folder, { recursive: true })
      const releaseLock = await this.lock(entry, paths.lock)
      try {
        const got = await fetchToPart(entry, paths.part, this.settings, options)
        if (options.signal?.aborted) throw cancelled()
        let verified: Verification
        try {
          verified = await verifyModelFile(
            entry,
            paths.part,
            got.bytes,
            got.sha256,
            `the file from ${entry.url}`
          )
        } catch (e) {
          await rm(paths.part, { force: true })
          throw e
        }
        await rename(paths.part, paths.file)
        return {
          id,
          path: paths.file,
          ...verified,
          alreadyPresent: false,
          resumed: got.resumed,
          attempts: got.attempts
        }
      } finally {
        await releaseLock()
        await removeLeftovers([], paths.folder)
      }
    })
  }

  async importFile(file: string, options: { architecture: string; id?: string }): Promise<ImportResult> {
    const source = resolve(file)
    const entries = await this.entries()
    const sameArchitecture = entries.filter((e) => e.architecture === options.architecture)
    if (sameArchitecture.length === 0) {
      const known = [...new Set(entries.map((e) => e.architecture))].join(', ')
      throw new HubError(
        'no-match',
        `no model in the catalogue has architecture "${options.architecture}" (known: ${known})`
      )
    }
    let candidates = sameArchitecture
    if (options.id !== undefined) {
      const chosen = await this.entry(options.id)
      if (chosen.architecture !== options.architecture) {
        throw new HubError(
          'no-match',
          `${chosen.id} is a ${chosen.architecture} model, not ${options.architecture}`
        )
      }
      candidates = [chosen]
    }
    const handle = await openRegularFile(source)
    const temp = join(this.dir, `.import-${process.pid}-${Date.now().toString(36)}.tmp`)
    let claimed: CatalogueEntry[] = []
    try {
      const { size } = await handle.stat()
      const fits = candidates.filter((e) => e.bytes === size)
      if (fits.length === 0) {
        const expected = candidates.map((e) => `${e.id}: ${e.bytes}`).join(', ')
        throw new HubError(
          candidates.length === 1 ? 'size' : 'no-match',
          `${source} is ${size} bytes, which fits no ${options.architecture} model in the catalogue ` +
            `(${expected} bytes)`
        )
      }
      for (const e of fits) if (this.busy.has(e.id)) throw busyError(e.id)
      for (const e of fits) this.busy.add(e.id)
      claimed = fits
      await mkdir(this.dir, { recursive: true })
      const hash = createHash('sha256')
      const out = await open(temp, 'wx')
      let copied = 0
      try {
        copied = await hashFileInto(handle, size, hash, async (chunk) => {
          await out.write(chunk)
        })
        await out.datasync()
      } finally {
        await out.close()
      }
      const digest = hash.digest('hex')
      let lastError: unknown
      for (const entry of fits) {
        try {
          const verified = await verifyModelFile(entry, temp, copied, digest, source)
          const paths = modelPaths(this.dir, entry)
          await mkdir(paths.folder, { recursive: true })
          await rename(temp, paths.file)
          await rm(paths.part, { force: true })
          return { id: entry.id, path: paths.file, ...verified }
        } catch (e) {
          lastError = e
        }
      }
      throw lastError
    } finally {
      for (const e of claimed) this.busy.delete(e.id)
      await handle.close()
      await rm(temp, { force: true })
    }
  }

  async remove(id: string): Promise<{ id: string; removed: boolean }> {
    const entry = await this.entry(id)
    if (this.busy.has(id)) throw busyError(id)
    const paths = modelPaths(this.dir, entry)
    const holder = await lockHolder(paths.lock)
    if (holder !== null) throw busyError(id, holder)
    const removed = (await stat(paths.file).catch(() => null)) !== null
    await removeLeftovers([paths.file, paths.part, paths.lock], paths.folder)
    return { id, removed }
  }

  async resolve(id: string): Promise<{ entry: CatalogueEntry; path: string }> {
    const entry = await this.entry(id)
    const paths = modelPaths(this.dir, entry)
    const file = await stat(paths.file).catch(() => null)
    if (!file?.isFile() || file.size !== entry.bytes) {
      throw new HubError(
        'not-downloaded',
        `${entry.name} is not downloaded yet: download it in the wizard's base step, or run ` +
          `\`transfer-studio models download ${entry.id}\``
      )
    }
    return { entry, path: paths.file }
  }

  private async entry(id: string): Promise<CatalogueEntry> {
    const entries = await this.entries()
    const entry = entries.find((e) => e.id === id)
    if (!entry) {
      throw new NotFoundError(
        `no model "${id}" in the catalogue (known: ${entries.map((e) => e.id).join(', ')})`
      )
    }
    return entry
  }

  /** Runs `fn` unless this process is already downloading or importing the same model. */
  private async exclusively<T>(entry: CatalogueEntry, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(entry.id)) throw busyError(entry.id)
    this.busy.add(entry.id)
    try {
      return await fn()
    } finally {
      this.busy.delete(entry.id)
    }
  }

  /**
   * A lock file holding our pid, so the app and the CLI never write one `.part` together. A lock whose process
   * has gone (a crash) is taken over.
   */
  private async lock(entry: CatalogueEntry, lockPath: string): Promise<() => Promise<void>> {
    for (let tries = 0; tries < 2; tries++) {
      try {
        await writeFile(lockPath, String(process.pid), { flag: 'wx' })
        return () => rm(lockPath, { force: true })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        const holder = await lockHolder(lockPath)
        if (holder !== null) throw busyError(entry.id, holder)
        await rm(lockPath, { force: true })
      }
    }
    throw busyError(entry.id)
  }
}

function busyError(id: string, pid?: number): HubError {
  return new HubError(
    'busy',
    `${id} is being downloaded or imported already${pid ? ` (by process ${pid})` : ''}; wait for it to finish`
  )
}

/** The pid of another live process holding the lock file, or null (no lock, or a crashed holder's). */
async function lockHolder(lockPath: string): Promise<number | null> {
  const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim())
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
