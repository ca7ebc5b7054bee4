// End to end: the built renderer in headless Chromium, talking to the REAL backend through the REAL
// WebSocket server. Create a project and import real GTSRB images through the UI, see thumbnails load,
// filter to a class, label three images from the keyboard, reload, and find the labels kept.
// Screenshots of every step go to test-output/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { sharedDataAvailable, tempDir } from '../helpers'
import {
  CHROMIUM,
  SHOTS,
  copyGtsrb,
  ensureBuilt,
  openInChromium,
  thumbnailsLoaded,
  type BrowserSession,
  type LoadedImage
} from './helpers'

/** GTSRB class ids used: 30 km/h, Yield, Stop, No entry, Road work. */
const CLASS_IDS = ['1', '13', '14', '17', '25']
const PER_CLASS = 20

const canRun = sharedDataAvailable() && existsSync(CHROMIUM)

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let session: BrowserSession
let page: Page

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) })
}

async function cellCount(n: number): Promise<void> {
  await expect.poll(() => page.locator('[data-test="cell"]').count(), { timeout: 10_000 }).toBe(n)
}

function captions(): Promise<string[]> {
  return page.locator('[data-test="caption"]').allInnerTexts()
}

describe.skipIf(!canRun)('library in a real browser against the real backend', () => {
  beforeAll(async () => {
    ensureBuilt()
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-e2e-')
    // A small real data set: 5 classes x 20 GTSRB images, the names CSV, and one truncated file.
    copyGtsrb(tmp.dir, CLASS_IDS, (files) => files.slice(0, PER_CLASS))
    writeFileSync(join(tmp.dir, 'images', '14', 'broken.ppm'), 'P6\n32 32\n255\n' + 'x'.repeat(100))

    backend = createBackend({ dataDir: join(tmp.dir, 'appdata') })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1280, height: 800 },
      httpErrors: true
    })
    page = session.page
  })

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  it('imports, shows, filters, labels from the keyboard and keeps labels across a reload', async () => {
    const projectPath = join(tmp.dir, 'signs.tsproj')
    await page.goto(session.server.url)
    await page.getByRole('heading', { name: 'Create a project' }).waitFor()
    await shot('01-start')

    await page.locator('[data-test="create-path"]').fill(projectPath)
    await page.locator('[data-test="create"]').click()
    await page.locator('[data-test="empty"]').waitFor()
    expect(await page.locator('[data-test="empty"]').innerText()).toContain('No images yet')
    await shot('02-empty-library')

    // Import through the dialog.
    await page.locator('[data-test="empty"] button').click()
    await page.locator('[data-test="import-folder"]').fill(join(tmp.dir, 'images'))
    await page.locator('[data-test="import-names"]').fill(join(tmp.dir, 'signnames.csv'))
    await shot('03-import-dialog')
    await page.locator('[data-test="import-start"]').click()
    await page.locator('[data-test="import-result"]').waitFor({ timeout: 60_000 })
    expect(await page.locator('[data-test="import-summary"]').innerText()).toContain('Imported 100')
    expect(await page.locator('[data-test="import-failures"]').innerText()).toContain('broken.ppm')
    await shot('04-import-result')
    await page.locator('[data-test="import-close"]').click()

    // Thumbnails really load from the server.
    await thumbnailsLoaded(page)
    expect(await page.locator('[data-test="stat-images"]').innerText()).toBe('100 images')
    const classNames = await page.locator('[data-test="class"] .label').allInnerTexts()
    expect(classNames).toEqual(['Speed limit (30km/h)', 'Yield', 'Stop', 'No entry', 'Road work'])
    await shot('05-library')

    // Filter to Stop.
    await page.locator('[data-test="class"]', { hasText: 'Stop' }).click()
    await cellCount(PER_CLASS)
    await thumbnailsLoaded(page)
    expect(new Set(await captions())).toEqual(new Set(['Stop']))
    await shot('06-filtered-stop')

    // Yield is the second class: key 2, three times, labels the focused image and moves on each time.
    const firstThree = await page
      .locator('[data-test="cell"]')
      .evaluateAll((els) =>
        els.slice(0, 3).map((e) => Number((e as unknown as { dataset: { id: string } }).dataset.id))
      )
    await page.keyboard.press('2')
    await page.keyboard.press('2')
    await page.keyboard.press('2')
    await expect.poll(async () => (await captions()).slice(0, 4)).toEqual(['Yield', 'Yield', 'Yield', 'Stop'])
    expect(await page.locator('.cell.focused').getAttribute('data-index')).toBe('3')
    await expect
      .poll(() =>
        page
          .locator('[data-test="class"]', { hasText: 'Yield' })
          .locator('[data-test="class-count"]')
          .innerText()
      )
      .toBe(String(PER_CLASS + 3))
    await shot('07-labelled-three')

    // The backend has them.
    const classes = await backend.handlers['classes:list']({})
    const yieldId = classes.find((c) => c.name === 'Yield')!.id
    const stopId = classes.find((c) => c.name === 'Stop')!.id
    for (const id of firstThree)
      expect((await backend.handlers['library:image']({ id })).classId).toBe(yieldId)

    // Reload: the project is still open, and the labels are still there.
    await page.reload()
    await page.locator('[data-test="class"]', { hasText: 'Yield' }).click()
    await cellCount(PER_CLASS + 3)
    await thumbnailsLoaded(page)
    const yieldIds = await page
      .locator('[data-test="cell"]')
      .evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { id: string } }).dataset.id)))
    expect(yieldIds).toEqual(expect.arrayContaining(firstThree))
    expect(new Set(await captions())).toEqual(new Set(['Yield']))
    expect(
      await page
        .locator('[data-test="class"]', { hasText: 'Stop' })
        .locator('[data-test="class-count"]')
        .innerText()
    ).toBe(String(PER_CLASS - 3))
    const stopPage = await backend.handlers['library:query']({
      filter: { classIds: [stopId] },
      offset: 0,
      limit: 100
    })
    expect(stopPage.total).toBe(PER_CLASS - 3)
    await shot('08-after-reload-yield')

    // Detail panel, help overlay, and the other language.
    await page.keyboard.press('Enter')
    await page.locator('[data-test="detail-image"]').waitFor()
    await expect
      .poll(() =>
        page.locator('[data-test="detail-image"]').evaluate((e) => (e as unknown as LoadedImage).naturalWidth)
      )
      .toBeGreaterThan(0)
    expect(await page.locator('[data-test="detail"]').innerText()).toContain('Yield')
    await shot('09a-detail')
    await page.keyboard.press('Escape')
    await page.keyboard.press('?')
    await page.locator('[data-test="help"]').waitFor()
    await shot('09b-help')
    await page.keyboard.press('Escape')

    // Shift+arrows select, a class key labels the whole selection, Ctrl+Z puts it back.
    await page.keyboard.press('Home')
    await page.keyboard.press('Shift+ArrowRight')
    await page.keyboard.press('Shift+ArrowRight')
    await expect.poll(() => page.locator('.cell.selected').count()).toBe(3)
    expect(await page.locator('[data-test="status"]').innerText()).toContain('3 selected')
    await shot('10a-selection')
    const selected = await page
      .locator('.cell.selected')
      .evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { id: string } }).dataset.id)))
    await page.keyboard.press('5')
    await expect
      .poll(async () => (await captions()).slice(0, 3))
      .toEqual(['Road work', 'Road work', 'Road work'])
    const roadWorkId = (await backend.handlers['classes:list']({})).find((c) => c.name === 'Road work')!.id
    for (const id of selected)
      expect((await backend.handlers['library:image']({ id })).classId).toBe(roadWorkId)
    await page.keyboard.press('Control+z')
    await expect.poll(async () => (await captions()).slice(0, 3)).toEqual(['Yield', 'Yield', 'Yield'])
    for (const id of selected) expect((await backend.handlers['library:image']({ id })).classId).toBe(yieldId)

    // Delete removes the label: the unlabelled badge shows.
    await page.keyboard.press('Home')
    await page.keyboard.press('Delete')
    await expect.poll(async () => (await captions())[0]).toBe('Unlabelled')
    await expect.poll(() => page.locator('[data-test="stat-unlabelled"]').innerText()).toBe('1 unlabelled')
    await shot('10b-unlabelled')
    await page.keyboard.press('Control+z')
    await expect.poll(async () => (await captions())[0]).toBe('Yield')

    // Split through the dialog: every image gets a split, tracks kept together.
    await page.locator('[data-test="open-split"]').click()
    await page.locator('[data-test="split-apply"]').click()
    await page.locator('[data-test="split-result"]').waitFor()
    const stats = await backend.handlers['library:stats']({})
    expect(stats.splits.none).toBe(0)
    expect(stats.splits.train + stats.splits.val + stats.splits.test).toBe(100)
    expect(await page.locator('[data-test="split-result"] tfoot').innerText()).toContain(
      String(stats.splits.train)
    )
    await shot('11-split')
    await page.keyboard.press('Escape')

    // Class manager lists the classes with their counts.
    await page.locator('[data-test="open-classes"]').click()
    await page.locator('[data-test="cm-new"]').fill('Priority road')
    await page.locator('[data-test="cm-add"]').click()
    await expect
      .poll(async () => (await backend.handlers['classes:list']({})).map((c) => c.name))
      .toContain('Priority road')
    await page.getByRole('dialog').locator('.name', { hasText: 'Priority road' }).waitFor()
    await shot('12-classes')
    await page.keyboard.press('Escape')

    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await page.locator('[data-test="filter-all"]').click()
    await thumbnailsLoaded(page)
    expect(await page.locator('[data-test="stat-images"]').innerText()).toBe('100 张图片')
    await shot('13-zh-CN')

    expect(session.errors).toEqual([])
  })
})
