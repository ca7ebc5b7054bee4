// Labelled examples from a folder outside the project (`transfer-studio evaluate --data <folder>`):
// one subfolder per class, named by the class key (`14`) or, given a names CSV, by its name (`Stop`).
// Every file is hashed (SHA-1 of its bytes, as the importer does) so the feature cache can serve images
// the project has already seen. Given GTSRB annotations, each listed image carries its region of interest,
// scaled to the stored file as the importer does, so a model trained on cropped signs sees cropped signs.
import { createHash } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { IMAGE_EXTENSIONS, readImageHeader } from '../../image/format'
import { scaleRoi, type GtsrbAnnotation } from '../../image/roi'
import type { Example } from './types'

export interface FolderClass {
  /** Class key, e.g. '14'. */
  key: string
  /** Output index of the model. */
  index: number
  /** Display name, e.g. 'Stop'; also accepted as a folder name. */
  name?: string
}

export interface FolderExamplesOptions {
  classes: FolderClass[]
  /** key -> name (e.g. from signnames.csv via `parseNamesCsv`): folders may be named by these too. */
  names?: Map<string, string>
  /** Files hashed concurrently (default 8). */
  concurrency?: number
  /** Absolute image path -> GTSRB annotation (`parseGtsrbCsv`): listed images get their ROI. */
  annotations?: Map<string, GtsrbAnnotation>
}

export interface FolderExamples {
  /** Sorted by output index, then path. */
  examples: Example[]
  /** Subfolders that match no class (their images are not evaluated); sorted. */
  unknownFolders: string[]
  /** Image files directly in `folder` (not in a class subfolder), which cannot be labelled. */
  looseFiles: number
  /** Examples that got a region of interest from `annotations` (0 without them). */
  withRoi: number
}

/** Folder names compare trimmed and case-insensitively ("stop" finds "Stop"). */
const norm = (s: string): string => s.trim().toLowerCase()

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue
    const full = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await listImages(full)))
    else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(full)
  }
  return out
}

export async function examplesFromFolder(
  folder: string,
  opts: FolderExamplesOptions
): Promise<FolderExamples> {
  const root = resolve(folder)
  let entries
  try {
    entries = await readdir(root, { withFileTypes: true })
  } catch (err) {
    throw new Error(`cannot read data folder ${root}: ${(err as Error).message}`)
  }
  // Keys win over names: a folder "1" is class key 1 even if another class were named "1".
  const byKey = new Map<string, number>()
  const byName = new Map<string, number>()
  for (const c of opts.classes) {
    byKey.set(norm(c.key), c.index)
    const name = c.name ?? opts.names?.get(c.key)
    if (name) byName.set(norm(name), c.index)
  }

  const unknownFolders: string[] = []
  let looseFiles = 0
  const files: { path: string; label: number }[] = []
  for (const e of entries) {
    if (e.name.startsWith('.')) continue
    if (e.isFile()) {
      if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) looseFiles++
      continue
    }
    if (!e.isDirectory()) continue
    const label = byKey.get(norm(e.name)) ?? byName.get(norm(e.name))
    if (label === undefined) {
      unknownFolders.push(e.name)
      continue
    }
    for (const path of await listImages(join(root, e.name))) files.push({ path, label })
  }
  files.sort((a, b) => a.label - b.label || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))

  const examples: Example[] = new Array(files.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      if (i >= files.length) return
      const { path, label } = files[i]
      // A file that cannot be read still becomes an example: the batch source reports it as failed, so
      // the evaluation result names it instead of silently evaluating fewer images.
      let hash = ''
      let roi: Example['roi'] = null
      try {
        const bytes = await readFile(path)
        hash = createHash('sha1').update(bytes).digest('hex')
        const ann = opts.annotations?.get(path)
        if (ann) {
          const h = readImageHeader(bytes)
          roi = scaleRoi(ann, h.width, h.height)
        }
      } catch {
        // Unreadable or undecodable: the batch source names the file and the reason when it decodes it.
      }
      examples[i] = { imageId: null, path, hash, label, roi }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker))
  const withRoi = examples.reduce((n, e) => n + (e.roi ? 1 : 0), 0)
  return { examples, unknownFolders: unknownFolders.sort(), looseFiles, withRoi }
}
