// Issue 14 items 1 and 8a in a real browser: one Chromium profile sees project A's thumbnails, then project
// B (whose image ids also start at 1, with other images) is opened and the grid must show B's pictures, not
// A's cached ones, also after a reload; and the page opened without its token says where the URL is
// printed instead of "reload". Real backend, real server, real GTSRB images. Screenshots: media-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { decodeImage, encodePng } from '../../src/main/image/decode'
import { sharedDataAvailable, tempDir } from '../helpers'
import {
  CHROMIUM,
  SHOTS,
  copyGtsrb,
  ensureBuilt,
  openInChromium,
  thumbnailsLoaded,
  type BrowserSession
} from './helpers'

const canRun = sharedDataAvailable() && existsSync(CHROMIUM)
/** Side of the renderings compared: small enough that scaling differences do not matter. */
const SIDE = 8

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let session: BrowserSession
let page: Page

/** A file as an 8x8 RGB rendering, through the app's own decoder (GTSRB files are PPM). */
async function rendering(file: string): Promise<number[]> {
  const png = await encodePng(await decodeImage(file))
  return [...(await sharp(png).resize(SIDE, SIDE, { fit: 'fill' }).removeAlpha().raw().toBuffer())]
}

/** What the page draws for the first grid cell, as an 8x8 RGB rendering, and the URL it loaded. */
async function firstCell(): Promise<{ src: string; rgb: number[] }> {
  return page
    .locator('[data-test="cell"] img')
    .first()
    .evaluate(
      (el, side) => {
        const img = el as unknown as { src: string; ownerDocument: { createElement(t: string): unknown } }
        const canvas = img.ownerDocument.createElement('canvas') as {
          width: number
          height: number
          getContext(k: '2d'): {
            drawImage(i: unknown, x: number, y: number, w: number, h: number): void
            getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
          }
        }
        canvas.width = side
        canvas.height = side
        const ctx = canvas.getContext('2d')
        ctx.drawImage(img, 0, 0, side, side)
        const rgba = ctx.getImageData(0, 0, side, side).data
        const rgb: number[] = []
        for (let i = 0; i < rgba.length; i += 4) rgb.push(rgba[i], rgba[i + 1], rgba[i + 2])
        return { src: img.src, rgb }
        // Bounded: while the grid swaps projects the first cell can be gone, and an unbounded wait for it
        // would outlive the poll that asked (a poll retries a call that throws, not one that never returns).
      },
      SIDE,
      { timeout: 5_000 }
    )
}

function distance(a: number[], b: number[]): number {
  return a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length
}

/** Create a project holding the first image of GTSRB class `cls` (so its only image has id 1). */
async function projectWith(name: string, cls: string): Promise<string> {
  const dir = join(tmp.dir, name)
  mkdirSync(dir, { recursive: true })
  const { images } = copyGtsrb(dir, [cls], (files) => files.slice(0, 1))
  await backend.handlers['project:create']({ path: join(tmp.dir, `${name}.tsproj`) })
  const summary = await backend.handlers['library:import']({ folder: images, labels: 'folders' })
  expect(summary.imported).toBe(1)
  return join(images, cls, (await backend.handlers['library:image']({ id: 1 })).fileName)
}

describe.skipIf(!canRun)('media URLs across projects in one browser profile', () => {
  beforeAll(async () => {
    ensureBuilt()
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-media-e2e-')
    backend = createBackend({ dataDir: join(tmp.dir, 'data') })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1100, height: 700 },
      httpErrors: true
    })
    page = session.page
  }, 60_000)

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  it("shows project B's images after project A's, also after a reload", async () => {
    // A: a speed-limit sign (class 1); B: a no-entry sign (class 17). Both images have id 1.
    const fileA = await projectWith('A', '1')
    await page.goto(session.server.url)
    await thumbnailsLoaded(page)
    const a = await firstCell()
    const renderA = await rendering(fileA)
    expect(distance(a.rgb, renderA)).toBeLessThan(20)
    await page.screenshot({ path: join(SHOTS, 'media-1-project-a.png') })

    const fileB = await projectWith('B', '17')
    const renderB = await rendering(fileB)
    expect(distance(renderA, renderB)).toBeGreaterThan(30)
    await expect
      .poll(() => page.locator('[data-test="project-name"]').innerText(), { timeout: 15_000 })
      .toBe('B')
    await expect.poll(async () => (await firstCell()).src, { timeout: 15_000 }).not.toBe(a.src)
    await thumbnailsLoaded(page)
    const b = await firstCell()
    expect(b.src).toMatch(/\/media\/thumb\/1\?v=[0-9a-f]{40}&token=/)
    expect(distance(b.rgb, renderB)).toBeLessThan(distance(b.rgb, renderA))
    expect(distance(b.rgb, renderB)).toBeLessThan(20)
    await page.screenshot({ path: join(SHOTS, 'media-2-project-b.png') })

    await page.reload()
    await thumbnailsLoaded(page)
    const again = await firstCell()
    expect(again.src).toBe(b.src)
    expect(distance(again.rgb, renderB)).toBeLessThan(20)
    await page.screenshot({ path: join(SHOTS, 'media-3-project-b-reloaded.png') })
    // Project A's URL is stale now: the server (asked past the browser's cache, where that URL still
    // means A's picture) refuses it instead of serving B's image 1.
    expect((await fetch(a.src)).status).toBe(404)
    expect(session.errors).toEqual([])
  }, 60_000)

  it('opened without its token, says that the link needs it and where the URL is printed', async () => {
    await page.goto(session.server.url.replace(/\?token=.*/, ''))
    const banner = page.locator('[data-test="connection-banner"]')
    await expect.poll(() => banner.textContent(), { timeout: 10_000 }).toContain('access token')
    const text = (await banner.textContent()) ?? ''
    expect(text).toContain('npm start')
    expect(text).not.toMatch(/reload the page to reconnect/i)
    // No start screen whose every button could only fail with "not connected".
    expect(await page.getByRole('button', { name: 'Create project' }).count()).toBe(0)
    await page.screenshot({ path: join(SHOTS, 'media-4-no-token.png') })
  }, 30_000)
})
