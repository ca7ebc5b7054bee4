// Image bytes for the views: PNG thumbnails made lazily and cached by content hash in the project's
// `.thumbs` folder, and the full image as PNG.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeImage, encodePng } from '../image/decode'
import { NotFoundError } from '../errors'
import type { ProjectService } from '../project/projectService'
import { writeFileAtomic } from '../project/atomicFile'

export const THUMB_SIZE = 96

export interface Media {
  mime: string
  data: Buffer
}

export class MediaService {
  /** Thumbnails being made, so a burst of requests for one image decodes it once. */
  private readonly pending = new Map<string, Promise<Buffer>>()

  constructor(private readonly projects: ProjectService) {}

  async get(kind: 'thumb' | 'full', id: number): Promise<Media> {
    const { repo, info } = this.projects.require()
    const image = repo.imageSource(id)
    if (!image) throw new NotFoundError(`image ${id} not found`)
    if (kind === 'full') {
      const pixels = await decodeImage(image.path)
      return { mime: 'image/png', data: await encodePng(pixels) }
    }
    const file = join(info.thumbnailDir, `${image.hash}.png`)
    const cached = await readFile(file).catch(() => null)
    if (cached) return { mime: 'image/png', data: cached }
    let job = this.pending.get(file)
    if (!job) {
      job = (async () => {
        const png = await encodePng(await decodeImage(image.path), THUMB_SIZE)
        await mkdir(info.thumbnailDir, { recursive: true })
        await writeFileAtomic(file, png)
        return png
      })().finally(() => this.pending.delete(file))
      this.pending.set(file, job)
    }
    return { mime: 'image/png', data: await job }
  }
}
