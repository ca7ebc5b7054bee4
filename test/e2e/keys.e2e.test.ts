// End to end, in Chromium against the real backend, with ALL 43 GTSRB classes (6 real frames each): the
// import dialog's dead ends (an empty folder says no images were found and names the formats; a folder that
// does not exist keeps the path and mode; a double click on Import does not close the summary), the help's
// class keys (no "null"), a class past the 35 one-key shortcuts labelled from the keyboard through the picker,
// one naming of classes in the library, the confusion matrix, the evaluation and predict, and Ctrl+Z /
// Ctrl+Shift+Z on the results page undoing and redoing a relabel made there. The run is a real one-epoch
// compact CNN started through the backend's handler (the wizard has its own e2e). Screenshots:
// test-output/screenshots/keys-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { defaultTrainConfig } from '../../src/main/ml/train/config'
import { sharedDataAvailable, tempDir } from '../helpers'
import { CHROMIUM, ROOT, SHOTS, copyGtsrb, ensureBuilt, openInChromium, type BrowserSession } from './helpers'

const WORKER = join(ROOT, 'out/main/trainWorker.js')
const CLASS_IDS = Array.from({ length: 43 }, (_, i) => String(i))
const PER_CLASS = 6
const canRun = sharedDataAvailable() && existsSync(CHROMIUM)

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let session: BrowserSession
let page: Page

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `keys-${name}.png`), fullPage: true })
}

/** The class number every view shows: position + 1. */
async function numberOf(classId: number): Promise<number> {
  const c = (await backend.handlers['classes:list']({})).find((x) => x.id === classId)!
  return c.position + 1
}

describe.skipIf(!canRun)('class keys, one naming, the import dialog and undo on the results page', () => {
  beforeAll(async () => {
    ensureBuilt(WORKER)
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-keys-e2e-')
    // Every 5th frame: spread over the class's tracks.
    copyGtsrb(tmp.dir, CLASS_IDS, (files) => files.filter((_, i) => i % 5 === 0).slice(0, PER_CLASS))
    mkdirSync(join(tmp.dir, 'empty', 'notes'), { recursive: true })
    backend = createBackend({ dataDir: join(tmp.dir, 'appdata'), workerEntry: WORKER })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1360, height: 860 }
    })
    page = session.page
  })

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  it('imports without dead ends, reaches all 43 classes from the keyboard, names them one way, undoes on results', async () => {
    await page.goto(session.server.url)
    await page.locator('[data-test="create-path"]').fill(join(tmp.dir, 'signs.tsproj'))
    await page.locator('[data-test="create"]').click()
    await page.locator('[data-test="empty"] button').click()

    // An empty folder: no images found, the formats named, the form and its path still there.
    const empty = join(tmp.dir, 'empty')
    await page.locator('[data-test="import-folder"]').fill(empty)
    await page.locator('[data-test="import-start"]').click()
    const error = page.locator('[data-test="import-error"]')
    await expect.poll(() => error.innerText()).toContain(`No images were found in ${empty}`)
    expect(await page.locator('[data-test="import-formats"]').innerText()).toContain('PNG, JPEG')
    expect(await page.locator('[role="dialog"]').innerText()).not.toContain('Every file was imported')
    expect(await page.locator('[data-test="import-folder"]').inputValue()).toBe(empty)
    await shot('01-import-empty')

    // A folder that does not exist: the reason, and the path and the mode are kept.
    const missing = join(tmp.dir, 'no-such-folder')
    await page.locator('[data-test="import-folder"]').fill(missing)
    await page.locator('[data-test="labels-none"]').check()
    await page.locator('[data-test="import-start"]').click()
    await expect.poll(() => error.innerText()).toContain('Import failed')
    expect(await page.locator('[data-test="import-folder"]').inputValue()).toBe(missing)
    expect(await page.locator('[data-test="labels-none"]').isChecked()).toBe(true)
    await shot('02-import-missing')

    // The real folder, double-clicked: the second click lands on nothing, the summary stays.
    await page.locator('[data-test="labels-folders"]').check()
    await page.locator('[data-test="import-folder"]').fill(join(tmp.dir, 'images'))
    await page.locator('[data-test="import-names"]').fill(join(tmp.dir, 'signnames.csv'))
    const start = (await page.locator('[data-test="import-start"]').boundingBox())!
    await page.mouse.dblclick(start.x + start.width / 2, start.y + start.height / 2)
    await page
      .locator('[data-test="import-result"]')
      .waitFor({ timeout: 10_000 })
      .catch(async (e) => {
        await shot('debug')
        throw e
      })
    await page.mouse.click(start.x + start.width / 2, start.y + start.height / 2)
    await page.waitForTimeout(300)
    expect(await page.locator('[data-test="import-summary"]').innerText()).toContain(
      `Imported ${43 * PER_CLASS}`
    )
    const close = (await page.locator('[data-test="import-close"]').boundingBox())!
    const overlaps =
      close.x < start.x + start.width &&
      start.x < close.x + close.width &&
      close.y < start.y + start.height &&
      start.y < close.y + close.height
    expect(overlaps).toBe(false)
    await shot('03-import-done')
    await page.locator('[data-test="import-close"]').click()

    // The sidebar numbers classes 1..43; the help names the keys without "null" and offers the picker.
    const classes = await backend.handlers['classes:list']({})
    expect(classes).toHaveLength(43)
    await expect.poll(() => page.locator('[data-test="class-number"]').count()).toBe(43)
    expect(await page.locator('[data-test="class-number"]').allInnerTexts()).toEqual(
      classes.map((_, i) => String(i + 1))
    )
    await page.locator('[data-test="cell"]').first().click()
    await page.keyboard.press('?')
    const help = await page.locator('[data-test="help"]').innerText()
    expect(help).not.toContain('null')
    expect(help).toContain('1…9, 0, a…z')
    expect(help).toContain('8 classes past the letters')
    await shot('04-help')
    await page.keyboard.press('Escape')

    // Roundabout mandatory is GTSRB's ClassId 40: position 40, class 41, past the 35 one-key shortcuts.
    const roundabout = classes.find((c) => c.name === 'Roundabout mandatory')!
    expect(roundabout.position).toBe(40)
    const firstId = Number(await page.locator('[data-test="cell"]').first().getAttribute('data-id'))
    const firstClass = (await backend.handlers['library:image']({ id: firstId })).classId
    expect(firstClass).not.toBe(roundabout.id)
    await page.keyboard.press('/')
    const input = page.locator('[data-test="picker-input"]')
    await input.waitFor()
    // The picker takes the keyboard as it opens (the dialog moves focus into its input).
    await expect
      .poll(() =>
        input.evaluate(
          (e) =>
            e === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement
        )
      )
      .toBe(true)
    await page.keyboard.type('round')
    const options = page.locator('[data-test="picker-option"]')
    expect(await options.first().innerText()).toContain('41')
    expect(await options.first().innerText()).toContain('Roundabout mandatory')
    await shot('05-picker')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator('[data-test="picker-input"]').count()).toBe(0)
    await expect
      .poll(async () => (await backend.handlers['library:image']({ id: firstId })).classId)
      .toBe(roundabout.id)
    // Undone like a class key.
    await page.keyboard.press('Control+z')
    await expect
      .poll(async () => (await backend.handlers['library:image']({ id: firstId })).classId)
      .toBe(firstClass)

    // A real short run: split, one epoch of the compact CNN, evaluated on the test split.
    await backend.handlers['library:split']({ val: 0.2, test: 0.3, groupBy: 'none', seed: 3 })
    const ended = new Promise<string>((ok) =>
      backend.on('training-progress', (e) => {
        if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') ok(e.type)
      })
    )
    const { runId } = await backend.handlers['training:start']({
      config: { ...defaultTrainConfig('custom'), epochs: 1 }
    })
    expect(await ended).toBe('completed')
    const evaluation = await backend.handlers['training:evaluate']({ runId })

    await page.locator('[data-test="nav-runs"]').click()
    await page.locator('[data-test="open-run"]').first().click()
    await page.locator('[data-test="confusion"]').waitFor({ timeout: 30_000 })
    // The matrix numbers classes as the library does: the column of a class is its number, not its ClassId.
    const cols = await page.locator('[data-test="matrix-col"]').allInnerTexts()
    const expected = await Promise.all(evaluation.classIds.map(async (id) => String(await numberOf(id))))
    expect(cols).toEqual(expected)
    const rows = await page.locator('[data-test="matrix-row"]').allInnerTexts()
    const byId = new Map(classes.map((c) => [c.id, c]))
    expect(rows.map((r) => r.trim().replace(/\s+/g, ' '))).toEqual(
      evaluation.classIds.map((id) => `${byId.get(id)!.position + 1} ${byId.get(id)!.name}`)
    )
    // The per-class table names them the same way.
    const perClass = await page.locator('[data-test="per-class"] tbody td:first-child').allInnerTexts()
    for (const name of perClass) expect(name).toMatch(/^\d+ · \S/)
    await shot('06-results')

    // Relabel a misclassified image from the results page, then Ctrl+Z and Ctrl+Shift+Z there.
    const wrong = page.locator('[data-test="wrong"]')
    expect(await wrong.count()).toBeGreaterThan(0)
    const imageId = Number(await wrong.first().getAttribute('data-image-id'))
    const before = (await backend.handlers['library:image']({ id: imageId })).classId
    const predicted = evaluation.misclassified.find((m) => m.imageId === imageId)!.predictedClassId
    await wrong.first().click()
    await page.keyboard.press('Enter')
    await expect
      .poll(async () => (await backend.handlers['library:image']({ id: imageId })).classId)
      .toBe(predicted)
    await expect.poll(() => wrong.first().locator('[data-test="fixed"]').count()).toBe(1)
    await shot('07-relabelled')
    await page.keyboard.press('Control+z')
    await expect
      .poll(async () => (await backend.handlers['library:image']({ id: imageId })).classId)
      .toBe(before)
    await expect.poll(() => wrong.first().locator('[data-test="fixed"]').count()).toBe(0)
    await shot('08-undone')
    await page.keyboard.press('Control+Shift+z')
    await expect
      .poll(async () => (await backend.handlers['library:image']({ id: imageId })).classId)
      .toBe(predicted)

    // Predict: the best run is chosen and named with its test accuracy.
    await page.locator('[data-test="nav-predict"]').click()
    const option = page.locator('[data-test="predict-run"] option:checked')
    await expect.poll(() => option.getAttribute('value')).toBe(String(runId))
    expect(await option.innerText()).toContain('· test ')
    // A real GTSRB frame beside an empty file: the frame is predicted (classes named by number and name),
    // the empty file says why it was not.
    const emptyFile = join(tmp.dir, 'empty.png')
    writeFileSync(emptyFile, '')
    const frame = join(tmp.dir, 'images', '40', readdirSync(join(tmp.dir, 'images', '40')).sort()[0])
    await page.locator('[data-test="predict-files"]').setInputFiles([emptyFile, frame])
    const cards = page.locator('[data-test="prediction"]')
    await expect.poll(() => cards.nth(1).locator('.bar-row').count(), { timeout: 60_000 }).toBeGreaterThan(0)
    for (const name of await cards.nth(1).locator('.cls').allInnerTexts()) expect(name).toMatch(/^\d+ · \S/)
    expect(await cards.nth(0).locator('[data-test="predict-file-error"]').innerText()).toBe(
      'Not predicted: The file is empty.'
    )
    await shot('09-predict')

    // The same in Chinese: the picker and the help speak it, the classes keep their numbers.
    await page.locator('[data-test="nav-library"]').click()
    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await page.locator('[data-test="cell"]').first().click()
    await page.keyboard.press('?')
    const helpZh = await page.locator('[data-test="help"]').innerText()
    expect(helpZh).toContain('字母之后的 8 个类别没有单独的键')
    expect(helpZh).not.toContain('null')
    await page.keyboard.press('Escape')
    await page.locator('[data-test="cell"]').first().focus()
    await page.keyboard.press('/')
    await expect.poll(() => input.getAttribute('placeholder')).toBe('输入名称的一部分或编号')
    await expect
      .poll(() =>
        input.evaluate(
          (e) =>
            e === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement
        )
      )
      .toBe(true)
    await page.keyboard.type('43')
    expect(await options.first().innerText()).toContain('End of no passing by vehicles over 3.5 metric tons')
    await shot('10-picker-zh')
    await page.keyboard.press('Escape')
    expect(session.errors).toEqual([])
  }, 180_000)
})
