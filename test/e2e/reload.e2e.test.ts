// Reloading the page mid-training, in real Chromium against the real backend (a real compact-CNN run on real
// GTSRB images in the forked training worker): the page comes back on the live run's dashboard with its
// pre-reload curve points, its image counts and a labelled pill, continues with the live stream, and the run
// ends with charts whose x only goes forward. Screenshots: test-output/screenshots/reload-*.png.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { sharedDataAvailable, tempDir } from '../helpers'
import { baseConfig } from '../main/ml/train/trainerFixtures'
import { CHROMIUM, ROOT, SHOTS, copyGtsrb, ensureBuilt, openInChromium, type BrowserSession } from './helpers'

const WORKER = join(ROOT, 'out/main/trainWorker.js')
const canRun = sharedDataAvailable() && existsSync(CHROMIUM)

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let session: BrowserSession
let page: Page

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `reload-${name}.png`), fullPage: true })
}

/** The loss chart's point count (all series), as the page draws it. */
async function lossPoints(): Promise<number> {
  return Number(await page.locator('[data-test="chart-loss"]').getAttribute('data-points'))
}

describe.skipIf(!canRun)('reloading the page while a run trains', () => {
  beforeAll(async () => {
    ensureBuilt(WORKER)
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-reload-e2e-')
    // 30 km/h, Yield, Stop, No entry: every 3rd frame, 40 each, spread over the tracks for the split.
    const { images } = copyGtsrb(tmp.dir, ['1', '13', '14', '17'], (files) =>
      files.filter((_, i) => i % 3 === 0).slice(0, 40)
    )
    backend = createBackend({
      dataDir: join(tmp.dir, 'appdata'),
      projectPath: join(tmp.dir, 'signs.tsproj'),
      workerEntry: WORKER
    })
    await backend.handlers['library:import']({ folder: images, labels: 'folders' })
    await backend.handlers['library:split']({ val: 0.2, test: 0.2, groupBy: 'track', seed: 1 })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1280, height: 820 }
    })
    page = session.page
  }, 180_000)

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  it('comes back on the live dashboard with the whole history, counts and a labelled pill', async () => {
    await page.goto(session.server.url)
    await page.locator('[data-test="nav-library"]').waitFor()
    // A short real run of the compact CNN: long enough (many epochs) to reload in the middle.
    const { runId } = await backend.handlers['training:start']({
      config: baseConfig({ epochs: 40, batchSize: 16 })
    })

    // The pill says what trains and how far, in words, and leads to the dashboard.
    const pill = page.locator('[data-test="training-pill"]')
    await expect.poll(() => pill.innerText(), { timeout: 30_000 }).toMatch(/^Training: epoch \d+\/40, \d+ %$/)
    expect(await pill.getAttribute('aria-label')).toMatch(
      new RegExp(`^Run #${runId} is training, \\d+ % done`)
    )
    await shot('01-library-pill')
    // And in Chinese.
    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await expect.poll(() => pill.innerText()).toMatch(/^训练中：第 \d+\/40 轮，\d+%$/)
    expect(await pill.getAttribute('aria-label')).toMatch(new RegExp(`^运行 #${runId} 正在训练`))
    await shot('01b-library-pill-zh-CN')
    await page.locator('[data-test="language"]').selectOption('en')
    await pill.click()
    await page.locator('[data-test="dashboard"]').waitFor()
    await expect
      .poll(() => page.locator('[data-test="epoch"]').innerText(), { timeout: 60_000 })
      .toMatch(/^[2-9] \/ 40$/)
    await expect.poll(() => lossPoints(), { timeout: 30_000 }).toBeGreaterThan(20)
    await shot('02-dashboard-before-reload')

    // Reload: the backend says the run goes on, so its dashboard is back, with what was drawn before.
    const before = await lossPoints()
    const drawnBefore = (await backend.handlers['training:history']({ runId })).events.length
    expect(drawnBefore).toBeGreaterThan(20)
    await page.reload()
    await page.locator('[data-test="dashboard"]').waitFor({ timeout: 20_000 })
    expect(await page.locator('[data-test="run-status"]').innerText()).toBe('Training')
    await expect.poll(() => lossPoints(), { timeout: 10_000 }).toBeGreaterThanOrEqual(before)
    expect(await page.locator('[data-test="chart-loss"]').getAttribute('data-monotone')).toBe('true')
    // Real image counts, not "0 train, 0 validation".
    const counts = await page.locator('[data-test="data-counts"]').innerText()
    const summary = await backend.handlers['training:get']({ runId })
    expect(summary.trainImages).toBeGreaterThan(0)
    expect(summary.valImages).toBeGreaterThan(0)
    expect(counts).toBe(`${summary.trainImages} train, ${summary.valImages} validation`)
    await shot('03-dashboard-after-reload')
    expect(await page.locator('[data-test="training-pill"]').innerText()).toMatch(/^Training: epoch \d+\/40/)

    // The run goes on to its end on the same page: the live stream continued, and x only went forward.
    await page.locator('[data-test="run-done"]').waitFor({ timeout: 180_000 })
    const final = await backend.handlers['training:get']({ runId })
    expect(final.status).toBe('completed')
    const history = await backend.handlers['training:history']({ runId })
    const batches = history.events.filter((e) => e.type === 'batch').length
    // Batch series + train per epoch + validation per epoch: every batch of the run, none twice.
    await expect
      .poll(() => lossPoints(), { timeout: 10_000 })
      .toBe(batches + final.history.length + final.history.filter((h) => h.valLoss !== null).length)
    for (const kind of ['loss', 'accuracy'])
      expect(await page.locator(`[data-test="chart-${kind}"]`).getAttribute('data-monotone')).toBe('true')
    expect(await page.locator('[data-test="training-pill"]').count()).toBe(0)
    await shot('04-dashboard-done')

    writeFileSync(join(SHOTS, 'reload-errors.txt'), session.errors.join('\n'))
    expect(session.errors).toEqual([])
  }, 300_000)
})
