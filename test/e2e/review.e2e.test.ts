// The Review screen (issue 16) in real Chromium against the real backend and the built training worker: a
// small project of real GTSRB frames (4 signs from gtsrb-test, whole tracks, one label flipped in each, split at random) is reviewed from the screen, the
// flipped images lead the queue, the keyboard skips, goes back and accepts (the image is relabelled in the
// project), and the same screen in Chinese has no English left but the user's class names. Screenshots:
// test-output/screenshots/review-queue-en.png, review-queue-zh.png, review-dups.png and review-map.png. The map
// (UMAP) then takes a brushed region (rectangle, lasso) that opens in the library as exactly its images and
// takes a label that one Ctrl+Z undoes: review-map-select.png, review-library-from-map.png,
// review-map-label.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../helpers'
import {
  CHROMIUM,
  ROOT,
  SHOTS,
  ensureBuilt,
  openInChromium,
  thumbnailsLoaded,
  type BrowserSession
} from './helpers'
import { strayEnglish } from './strayEnglish'

const WORKER = join(ROOT, 'out/main/trainWorker.js')
const CLASS_IDS = ['1', '13', '14', '38']
const PER_CLASS = 25
const OUT = SHOTS
const canRun = sharedDataAvailable() && existsSync(CHROMIUM)

describe.skipIf(!canRun)('the Review screen', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let session: BrowserSession
  let page: Page
  /** Flipped image id → its true class. */
  const flipped = new Map<number, number>()
  let classNames: string[] = []
  /** The image accepted from the keyboard. */
  let accepted = 0

  beforeAll(async () => {
    ensureBuilt(WORKER)
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-review-e2e-')
    // gtsrb-test keeps whole tracks (consecutive frames of one sign, near-duplicates), so the random split
    // below leaks some across splits.
    for (const id of CLASS_IDS) {
      mkdirSync(join(tmp.dir, 'images', id), { recursive: true })
      const files = readdirSync(join(SHARED_DATA, 'gtsrb-test', id))
        .sort()
        .slice(0, PER_CLASS)
      for (const f of files)
        copyFileSync(join(SHARED_DATA, 'gtsrb-test', id, f), join(tmp.dir, 'images', id, f))
    }
    copyFileSync(join(SHARED_DATA, 'signnames.csv'), join(tmp.dir, 'signnames.csv'))
    backend = createBackend({ dataDir: join(tmp.dir, 'appdata'), workerEntry: WORKER })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1280, height: 1000 }
    })
    page = session.page
  })

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  it('in English: runs a review, the flipped labels lead the queue, the keyboard decides', async () => {
    await page.goto(session.server.url)
    await page.locator('[data-test="language"]').selectOption('en')
    await page.locator('[data-test="create-path"]').fill(join(tmp.dir, 'signs.tsproj'))
    await page.locator('[data-test="create"]').click()
    await page.locator('[data-test="nav-review"]').waitFor()
    await backend.handlers['library:import']({
      folder: join(tmp.dir, 'images'),
      labels: 'folders',
      namesCsv: join(tmp.dir, 'signnames.csv')
    })
    await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'none', seed: 1 })
    const classes = await backend.handlers['classes:list']({})
    classNames = classes.map((c) => c.name)
    const page0 = await backend.handlers['library:query']({ filter: {}, offset: 0, limit: 1000 })
    for (const [k, c] of classes.entries()) {
      const img = page0.items.filter((i) => i.classId === c.id)[4]
      await backend.handlers['library:setLabel']({
        imageIds: [img.id],
        classId: classes[(k + 1) % classes.length].id
      })
      flipped.set(img.id, c.id)
    }

    await page.locator('[data-test="nav-review"]').click()
    await page.locator('[data-test="review-start"]').click()
    await page.locator('[data-test="review-progress"]').waitFor({ timeout: 30_000 })
    await page.locator('[data-test="review-queue"]').waitFor({ timeout: 500_000 })
    await thumbnailsLoaded(page, '[data-test="review-issue"] img')

    const ids = async (): Promise<number[]> =>
      (await page
        .locator('[data-test="review-issue"]')
        .evaluateAll((els) =>
          els.map((e) =>
            Number((e as unknown as { getAttribute(n: string): string }).getAttribute('data-image'))
          )
        )) as number[]
    const top = (await ids()).slice(0, flipped.size)
    expect(top.filter((id) => flipped.has(id)).length).toBeGreaterThanOrEqual(flipped.size - 1)
    expect(await page.locator('[data-test="issue-suggested"]').first().innerText()).toMatch(/^\d+ · \S/)
    await page.screenshot({ path: join(OUT, 'review-queue-en.png'), fullPage: true })
    // Leaks: near-identical frames of one track on both sides of the random split, flagged.
    expect(await page.locator('[data-test="pair-leak"]').count()).toBeGreaterThan(0)
    await page.locator('[data-test="review-duplicates"]').screenshot({ path: join(OUT, 'review-dups.png') })
    // The embedding map: drawn, and hovering a point shows its thumbnail.
    const map = page.locator('[data-test="review-map"]')
    await map.scrollIntoViewIfNeeded()
    const canvas = map.locator('canvas').first()
    await canvas.waitFor()
    // Find a drawn point: a coloured pixel below the legend (page-side code reads the canvas).
    const box = (await canvas.boundingBox())!
    const spot = await canvas.evaluate((el) => {
      const c = el as unknown as {
        width: number
        height: number
        getContext(k: '2d'): {
          getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
        }
      }
      const scale = c.width / (el as unknown as { clientWidth: number }).clientWidth
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      for (let y = Math.round(60 * scale); y < c.height; y++)
        for (let x = 0; x < c.width; x++) {
          const i = (y * c.width + x) * 4
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]]
          if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) return { x: x / scale, y: y / scale }
        }
      return null
    })
    expect(spot).not.toBeNull()
    await page.mouse.move(box.x + spot!.x + 2, box.y + spot!.y + 2)
    await thumbnailsLoaded(page, '[data-test="review-map"] img')
    await map.screenshot({ path: join(OUT, 'review-map.png') })
    await page.locator('[data-test="review"] h2').scrollIntoViewIfNeeded()

    // Keyboard: S skips to the second row, ↑ comes back, Enter accepts the first.
    await page.locator('[data-test="review-queue"]').focus()
    const focused = (): Promise<string | null> =>
      page.locator('[data-test="review-issue"].focused').getAttribute('data-image')
    const [first, second] = await ids()
    await page.keyboard.press('s')
    expect(await focused()).toBe(String(second))
    await page.keyboard.press('ArrowUp')
    expect(await focused()).toBe(String(first))
    const issue = (await backend.handlers['review:result']({}))!.labelIssues.find((i) => i.imageId === first)!
    await page.keyboard.press('Enter')
    await expect.poll(async () => (await ids()).includes(first)).toBe(false)
    const labels = backend.services.projects.require().repo.labelsOf([first])
    expect(labels.get(first)).toBe(issue.suggestedClassId)
    accepted = first
    expect(session.errors).toEqual([])
  }, 600_000)

  it('in Chinese: the same screen with no English but the class names', async () => {
    // The language switch sits in the library's header.
    await page.locator('[data-test="nav-library"]').click()
    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('zh-CN')
    await page.locator('[data-test="nav-review"]').click()
    await page.locator('[data-test="review-queue"]').waitFor()
    expect(await page.locator('[data-test="review"] h2').innerText()).toBe('数据审查')
    // The map's method line names the algorithm and its library, kept as they are in every language (as
    // KEPT_TERMS keeps AlexNet and ONNX).
    expect(await strayEnglish(page, classNames)).toEqual([])
    // The screen came back (a new mount reads the last report): the accepted image stays decided.
    const shown = await page
      .locator('[data-test="review-issue"]')
      .evaluateAll((els) =>
        els.map((e) => (e as unknown as { getAttribute(n: string): string }).getAttribute('data-image'))
      )
    expect(shown.length).toBeGreaterThan(0)
    expect(shown).not.toContain(String(accepted))
    await page.screenshot({ path: join(OUT, 'review-queue-zh.png'), fullPage: true })
    expect(session.errors).toEqual([])
  })

  it('the map: UMAP, a brushed region opens in the library as exactly its images, and takes a label that Ctrl+Z undoes', async () => {
    await page.locator('[data-test="nav-library"]').click()
    await page.locator('[data-test="language"]').selectOption('en')
    await page.locator('[data-test="nav-review"]').click()
    const map = page.locator('[data-test="review-map"]')
    await map.scrollIntoViewIfNeeded()
    const report = (await backend.handlers['review:result']({}))!
    expect(report.mapMethod).toBe('umap')
    expect(await page.locator('[data-test="map-method"]').getAttribute('data-method')).toBe('umap')
    expect(await page.locator('[data-test="map-method"]').innerText()).toMatch(/UMAP/)
    const points = report.map!
    const canvas = map.locator('canvas').first()
    let box = (await canvas.boundingBox())!
    // With the brush armed, a click on a point still opens that image in the library.
    const spot = await canvas.evaluate((el) => {
      const c = el as unknown as {
        width: number
        height: number
        getContext(k: '2d'): {
          getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
        }
      }
      const scale = c.width / (el as unknown as { clientWidth: number }).clientWidth
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      for (let y = Math.round(60 * scale); y < c.height; y++)
        for (let x = 0; x < c.width; x++) {
          const i = (y * c.width + x) * 4
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]]
          if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) return { x: x / scale, y: y / scale }
        }
      return null
    })
    expect(spot).not.toBeNull()
    await page.mouse.click(box.x + spot!.x + 2, box.y + spot!.y + 2)
    await expect.poll(() => page.locator('#filter-search').inputValue()).toMatch(/\.(ppm|png|jpe?g)$/i)
    await page.locator('#filter-search').fill('')
    await page.locator('[data-test="filter-all"]').click()
    await page.locator('[data-test="nav-review"]').click()
    await map.scrollIntoViewIfNeeded()
    box = (await canvas.boundingBox())!
    // Brush a rectangle over the full height of the map's left part: it holds exactly the images with the
    // smallest x (the map is linear in x), so whatever count the bar shows, they are those.
    const drag = async (fromX: number, toX: number): Promise<void> => {
      await page.mouse.move(box.x + fromX, box.y + 49)
      await page.mouse.down()
      await page.mouse.move(box.x + (fromX + toX) / 2, box.y + box.height / 2, { steps: 5 })
      await page.mouse.move(box.x + toX, box.y + box.height - 25, { steps: 5 })
      await page.mouse.up()
    }
    await drag(25, 25 + (box.width - 48) * 0.45)
    const bar = page.locator('[data-test="map-selection"]')
    await bar.waitFor()
    const count = Number((await page.locator('[data-test="map-selected"]').innerText()).match(/\d+/)![0])
    expect(count).toBeGreaterThan(0)
    expect(count).toBeLessThan(points.length)
    expect(await page.locator('[data-test="map-selected"]').innerText()).toBe(`${count} images selected`)
    const byX = [...points].sort((a, b) => a.x - b.x)
    expect(byX[count - 1].x).toBeLessThan(byX[count].x)
    const expected = byX
      .slice(0, count)
      .map((p) => p.imageId)
      .sort((a, b) => a - b)
    await map.screenshot({ path: join(OUT, 'review-map-select.png') })

    // Show in library: the grid holds exactly those images, under a removable chip.
    await page.locator('[data-test="map-show"]').click()
    const chip = page.locator('[data-test="chip-from-map"]')
    await chip.waitFor()
    expect(await chip.innerText()).toContain(`From the map: ${count} images`)
    await expect.poll(() => page.locator('[data-test="cell"]').count(), { timeout: 10_000 }).toBe(count)
    const cells = (await page
      .locator('[data-test="cell"]')
      .evaluateAll((els) =>
        els.map((e) => Number((e as unknown as { getAttribute(n: string): string }).getAttribute('data-id')))
      )) as number[]
    expect([...cells].sort((a, b) => a - b)).toEqual(expected)
    // Every cell's picture, not only those the grid has asked for so far.
    await expect.poll(() => page.locator('[data-test="cell"] img').count(), { timeout: 20_000 }).toBe(count)
    await thumbnailsLoaded(page, '[data-test="cell"] img')
    await page.screenshot({ path: join(OUT, 'review-library-from-map.png') })
    await page.locator('[data-test="chip-from-map-remove"]').click()
    await chip.waitFor({ state: 'detached' })
    await expect.poll(() => page.locator('[data-test="cell"]').count()).toBeGreaterThan(count)

    // Label as…: every selected image takes the class in one step; one Ctrl+Z puts every label back.
    await page.locator('[data-test="nav-review"]').click()
    await map.scrollIntoViewIfNeeded()
    expect(await bar.count()).toBe(0) // a selection does not outlive its brushed area
    await page.locator('[data-test="map-tool-polygon"]').click()
    // A lasso around the same left part (a closed path, drawn point by point).
    const x1 = 25 + (box.width - 48) * 0.45
    const path = [
      [25, 49],
      [x1, 49],
      [x1, box.height - 25],
      [25, box.height - 25],
      [25, 50]
    ]
    await page.mouse.move(box.x + path[0][0], box.y + path[0][1])
    await page.mouse.down()
    for (const [x, y] of path.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 8 })
    await page.mouse.up()
    await bar.waitFor()
    const lassoCount = Number((await page.locator('[data-test="map-selected"]').innerText()).match(/\d+/)![0])
    expect(lassoCount).toBe(count)
    const before = backend.services.projects.require().repo.labelsOf(expected)
    const target = (await backend.handlers['classes:list']({})).find((c) => c.name === classNames[2])!
    await page.locator('[data-test="map-label"]').click()
    await page.locator('[data-test="picker-input"]').fill(target.name)
    await page.screenshot({ path: join(OUT, 'review-map-label.png') })
    await page.keyboard.press('Enter')
    await bar.waitFor({ state: 'detached' })
    const labelsNow = (): (number | null)[] => {
      const m = backend.services.projects.require().repo.labelsOf(expected)
      return expected.map((id) => m.get(id) ?? null)
    }
    await expect.poll(labelsNow).toEqual(expected.map(() => target.id))
    await page.keyboard.press('Control+z')
    await expect.poll(labelsNow).toEqual(expected.map((id) => before.get(id) ?? null))
    expect(expected.some((id) => before.get(id) !== target.id)).toBe(true)
    expect(session.errors).toEqual([])
  }, 120_000)
})
