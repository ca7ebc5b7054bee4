// The Chinese UI says the backend's errors in Chinese, in real Chromium against the real backend: opening a
// missing project, importing a missing folder, exporting into a folder that is not empty (refused at the
// check, at an Export pressed right after editing the path, and by the export itself when the folder filled
// up after the check), and the export dialog's file descriptions. Each shown text must contain Chinese and
// no English sentence (the paths the user typed may stay as typed). Screenshots: language-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { defaultTrainConfig } from '../../src/main/ml/train/config'
import { sharedDataAvailable, tempDir } from '../helpers'
import { CHROMIUM, ROOT, SHOTS, copyGtsrb, ensureBuilt, openInChromium, type BrowserSession } from './helpers'

const WORKER = join(ROOT, 'out/main/trainWorker.js')
const canRun = sharedDataAvailable() && existsSync(CHROMIUM)

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let session: BrowserSession
let page: Page

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `language-${name}.png`), fullPage: true })
}

const CJK = /[\u4e00-\u9fff]/

/** Chinese, and no run of three English words outside the paths named (a sentence left untranslated). */
function expectChinese(text: string, ...paths: string[]): void {
  let rest = text
  for (const p of paths) rest = rest.split(p).join(' ')
  expect(text).toMatch(CJK)
  expect(rest, text).not.toMatch(/[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}/)
}

describe.skipIf(!canRun)('the Chinese UI words backend errors in Chinese', () => {
  beforeAll(async () => {
    ensureBuilt(WORKER)
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-language-e2e-')
    copyGtsrb(tmp.dir, ['13', '14', '17'], (files) => files.filter((_, i) => i % 6 === 0).slice(0, 16))
    backend = createBackend({ dataDir: join(tmp.dir, 'appdata'), workerEntry: WORKER })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1280, height: 820 }
    })
    page = session.page
  })

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  it('opens, imports and exports with the refusals in Chinese', async () => {
    await page.goto(session.server.url)
    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('zh-CN')

    // Open a project that is not there.
    const missing = join(tmp.dir, 'gone', 'missing.tsproj')
    await page.locator('[data-test="open-path"]').fill(missing)
    await page.locator('[data-test="open"]').click()
    const startError = page.locator('[data-test="start-error"]')
    await startError.waitFor()
    expectChinese(await startError.innerText(), missing)
    expect(await startError.innerText()).toContain(missing)
    await shot('01-open-missing')
    // A language switch rewords the error already shown (it is kept as a code, not as text).
    await page.locator('[data-test="language"]').selectOption('en')
    await expect.poll(() => startError.innerText()).toContain('project file not found')
    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await expect.poll(() => startError.innerText()).toMatch(CJK)

    // Create one, and import a folder that does not exist.
    await page.locator('[data-test="create-path"]').fill(join(tmp.dir, 'signs.tsproj'))
    await page.locator('[data-test="create"]').click()
    await page.locator('[data-test="empty"] button').click()
    const gone = join(tmp.dir, 'no-such-folder')
    await page.locator('[data-test="import-folder"]').fill(gone)
    await page.locator('[data-test="import-start"]').click()
    const importError = page.locator('[data-test="import-error"]')
    await importError.waitFor()
    expectChinese(await importError.innerText(), gone)
    await shot('02-import-missing')
    await page.keyboard.press('Escape')

    // A trained run to export (the real services; the UI is not what this test is about).
    await backend.handlers['library:import']({ folder: join(tmp.dir, 'images'), labels: 'folders' })
    await backend.handlers['library:split']({ val: 0.25, test: 0.25, groupBy: 'none', seed: 1 })
    const ended = new Promise<string>((ok) =>
      backend.on('training-progress', (e) => {
        if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') ok(e.type)
      })
    )
    const { runId } = await backend.handlers['training:start']({
      config: { ...defaultTrainConfig('custom'), epochs: 1 }
    })
    expect(await ended).toBe('completed')

    await page.locator('[data-test="nav-runs"]').click()
    await page.locator('[data-test="open-run"]').first().click()
    await page.locator('[data-test="open-export"]').click()

    // A folder that is not empty: the check says so in Chinese; the file descriptions are Chinese.
    const full = join(tmp.dir, 'full')
    mkdirSync(full)
    writeFileSync(join(full, 'mine.txt'), 'keep me')
    await page.locator('[data-test="export-dir"]').fill(full)
    await page.locator('[data-test="export-check"]').click()
    const problem = page.locator('[data-test="export-problem"]')
    await problem.waitFor()
    expectChinese(await problem.innerText(), full)
    const items = await page.locator('[data-test="export-preview"] li').allInnerTexts()
    expect(items.length).toBeGreaterThan(3)
    for (const item of items) {
      const [name, description] = item.split(' — ')
      expect(description, item).toBeTruthy()
      expectChinese(description, 'TF.js', 'ONNX', 'README.md', 'model.json', 'onnxruntime', name)
    }
    await shot('03-export-not-empty')

    // An edited path and Export at once: the path is checked first, and nothing is written there.
    const other = join(tmp.dir, 'other')
    mkdirSync(other)
    writeFileSync(join(other, 'notes.txt'), 'mine too')
    await page.locator('[data-test="export-dir"]').fill(other)
    await page.locator('[data-test="export-go"]').click()
    await expect.poll(() => problem.innerText()).toContain(other)
    expectChinese(await problem.innerText(), other)
    expect(readdirSync(other)).toEqual(['notes.txt'])

    // An empty folder passes the check, then fills up before Export: the export itself refuses, in Chinese.
    const later = join(tmp.dir, 'later')
    mkdirSync(later)
    await page.locator('[data-test="export-dir"]').fill(later)
    await page.locator('[data-test="export-check"]').click()
    await expect.poll(() => problem.count()).toBe(0)
    writeFileSync(join(later, 'arrived.txt'), 'late')
    await page.locator('[data-test="export-go"]').click()
    const exportError = page.locator('[data-test="export-error"]')
    await exportError.waitFor({ timeout: 30_000 })
    expectChinese(await exportError.innerText(), later)
    expect(readdirSync(later)).toEqual(['arrived.txt'])
    await shot('04-export-refused')
    expect(runId).toBeGreaterThan(0)
    expect(session.errors.filter((e) => !/status of 4\d\d|Failed to load resource/.test(e))).toEqual([])
  }, 120_000)
})
