// Where the model cache lives and what each model's files there are called. The cache is per user and shared
// by every project: `TS_MODEL_DIR` overrides its place, otherwise it is the OS's user cache folder. Each
// model gets a folder named by its id (ids are restricted to safe characters by the catalogue schema), holding
// the file under its original name (so a torch.hub-style hash prefix stays visible), and while a download
// runs its `.part` and lock. An import copies to a pid-named temporary file in the cache folder itself.
import { homedir } from 'node:os'
import { basename, isAbsolute, join, resolve } from 'node:path'
import type { CatalogueEntry } from './catalogue'

const APP = 'transfer-studio'

/** The model cache folder for this user. */
export function modelCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir()
): string {
  if (env['TS_MODEL_DIR']) return resolve(env['TS_MODEL_DIR'])
  if (platform === 'win32') {
    return join(env['LOCALAPPDATA'] || join(home, 'AppData', 'Local'), APP, 'models')
  }
  if (platform === 'darwin') return join(home, 'Library', 'Caches', APP, 'models')
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env['XDG_CACHE_HOME']
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), APP, 'models')
}

const EXTENSION: Record<CatalogueEntry['format'], string> = {
  'bvlc-npy': '.npy',
  'torchvision-pth': '.pth',
  onnx: '.onnx'
}

/** The file's name in the cache: the URL's last segment when it is a plain name, else `<id><ext>`. */
export function cacheFileName(entry: Pick<CatalogueEntry, 'id' | 'url' | 'format'>): string {
  let name = ''
  try {
    name = decodeURIComponent(basename(new URL(entry.url).pathname))
  } catch {
    name = ''
  }
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name) ? name : `${entry.id}${EXTENSION[entry.format]}`
}

export interface ModelPaths {
  /** The model's own folder in the cache. */
  folder: string
  /** The verified file; it exists only once verified. */
  file: string
  /** What a download writes until it is verified (resumed by the next download). */
  part: string
  /** The lock of the download in progress (holds the downloading process's pid). */
  lock: string
}

export function modelPaths(dir: string, entry: Pick<CatalogueEntry, 'id' | 'url' | 'format'>): ModelPaths {
  const folder = join(dir, entry.id)
  const file = join(folder, cacheFileName(entry))
  return {
    folder,
    file,
    part: `${file}.part`,
    lock: join(folder, '.download.lock')
  }
}
