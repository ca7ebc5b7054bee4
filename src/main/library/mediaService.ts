// Image bytes for the views: PNG thumbnails made lazily and cached by content hash in the project's
// `.thumbs` folder, and the full image as a PNG preview. Decoding is bounded: an image above
// MAX_VIEW_PIXELS (from its header) is refused before any pixel is decoded, and the full view is a preview
// whose longer side is at most FULL_VIEW_SIDE, downscaled while it decodes (a 16,000 px square PNG would
// otherwise be 768 MB of RGB and as much again for the PNG encoder, per request).
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeImage, encodePng } from '../image/decode'
import { NotFoundError } from '../errors'
import type { ProjectService } from '../project/projectService'
import { writeFileAtomic } from '../project/atomicFile'
import { parseMediaVersion } from '../../shared/ipc'

export const THUMB_SIZE = 96

/** The longer side of the full view's preview, in pixels. */
export const FULL_VIEW_SIDE = 4096

/** Images with more pixels than this are refused by the views (64 megapixels: 192 MB of RGB). */
export const MAX_VIEW_PIXELS = 64_000_000

export interface Media {
  mime: string
  data: Buffer
  /**
   * The request named the image's content hash (and the open project): its URL stands for these bytes for
   * good, so transports may let it be cached as immutable. Otherwise the bytes must be revalidated.
   */
  immutable: boolean
}

export class MediaService {
  /** Thumbnails being made, so a burst of requests for one image decodes it once. */
  private readonly pending = new Map<string, Promise<Buffer>>()

  constructor(private readonly projects: ProjectService) {}

  /**
   * `version` (see shared `mediaVersion`) must be the image's current content hash, or the open project's
   * key: a stale one (another project's, or the bytes before a re-import) is not found, never answered
   * with whatever image now has that id.
   */
  async get(kind: 'thumb' | 'full', id: number, version?: string): Promise<Media> {
    const { repo, info } = this.projects.require()
    const image = repo.imageSource(id)
    if (!image) throw new NotFoundError(`image ${id} not found`)
    let immutable = false
    if (version !== undefined) {
      const v = parseMediaVersion(version)
      const current = v && ('hash' in v ? v.hash === image.hash : v.projectKey === info.mediaKey)
      if (!current) throw new NotFoundError(`image ${id} not found in this version of the project`)
      immutable = 'hash' in v
    }
    if (kind === 'full') {
      const pixels = await decodeImage(image.path, { maxPixels: MAX_VIEW_PIXELS, maxSide: FULL_VIEW_SIDE })
      return { mime: 'image/png', data: await encodePng(pixels), immutable }
    }
    const file = join(info.thumbnailDir, `${image.hash}.png`)
    const cached = await readFile(file).catch(() => null)
    if (cached) return { mime: 'image/png', data: cached, immutable }
    let job = this.pending.get(file)
    if (!job) {
      job = (async () => {
        const pixels = await decodeImage(image.path, { maxPixels: MAX_VIEW_PIXELS, maxSide: FULL_VIEW_SIDE })
        const png = await encodePng(pixels, THUMB_SIZE)
        await mkdir(info.thumbnailDir, { recursive: true })
        await writeFileAtomic(file, png)
        return png
      })().finally(() => this.pending.delete(file))
      this.pending.set(file, job)
    }
    return { mime: 'image/png', data: await job, immutable }
  }
}
