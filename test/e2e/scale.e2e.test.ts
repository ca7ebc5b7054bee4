// Scale check, run on demand (TS_E2E_SCALE=50000 npx vitest run test/e2e/scale.e2e.test.ts): import N
// generated 32x32 PPMs with the real backend, open the grid in Chromium, jump through the whole library
// and measure what the page holds and how long frames take. Skipped by default: it writes N files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { tempDir } from '../helpers'
import { CHROMIUM, RENDERER, SHOTS, openInChromium, type BrowserSession } from './helpers'

const N = Number(process.env.TS_E2E_SCALE ?? 0)

let tmp: ReturnType<typeof tempDir>
let backend: Backend
let session: BrowserSession
let page: Page

/** A distinct 32x32 P6 image per index (the importer skips identical content). */
function ppm(i: number): Buffer {
  const header = Buffer.from('P6\n32 32\n255\n')
  const px = Buffer.alloc(32 * 32 * 3)
  for (let p = 0; p < 32 * 32; p++) {
    px[p * 3] = (i * 7 + p) & 255
    px[p * 3 + 1] = (i >> 8) & 255
    px[p * 3 + 2] = (i >> 16) ^ (p & 255)
  }
  return Buffer.concat([header, px])
}

describe.skipIf(!(N > 0) || !existsSync(CHROMIUM) || !existsSync(join(RENDERER, 'index.html')))(
  `grid at ${N} images`,
  () => {
    beforeAll(async () => {
      tmp = tempDir('ts-scale-')
      const folder = join(tmp.dir, 'images')
      for (let c = 0; c < 10; c++) mkdirSync(join(folder, `class${c}`), { recursive: true })
      for (let i = 0; i < N; i++)
        writeFileSync(join(folder, `class${i % 10}`, `${String(i).padStart(6, '0')}.ppm`), ppm(i))
      backend = createBackend({
        dataDir: join(tmp.dir, 'appdata'),
        projectPath: join(tmp.dir, 'scale.tsproj')
      })
      const started = Date.now()
      const summary = await backend.handlers['library:import']({ folder, labels: 'folders' })
      console.log(`imported ${summary.imported} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      session = await openInChromium(backend, {
        profileDir: join(tmp.dir, 'profile'),
        viewport: { width: 1280, height: 800 }
      })
      page = session.page
    }, 1_800_000)

    afterAll(async () => {
      await session?.close()
      await backend?.dispose()
      tmp?.remove()
    })

    it('renders a screenful, loads pages on demand and keeps frames short while jumping around', async () => {
      let queries = 0
      let rowsReceived = 0
      page.on('websocket', (ws) => {
        ws.on('framesent', (f) => {
          if (String(f.payload).includes('"library:query"')) queries++
        })
        ws.on('framereceived', (f) => {
          const m = /"items":\[(.*)\]/.exec(String(f.payload))
          if (m) rowsReceived += (m[1].match(/"id":/g) ?? []).length
        })
      })
      await page.goto(session.server.url)
      await page.locator('[data-test="cell"] img').first().waitFor()
      expect(await page.locator('[data-test="stat-images"]').innerText()).toBe(`${N} images`)

      // Jump with the keyboard through the whole library: End, Home, and PageDown-like arrow runs.
      const frameLog = await page.evaluate(async () => {
        const g = globalThis as unknown as {
          requestAnimationFrame(cb: (t: number) => void): number
          document: { body: { dispatchEvent(e: unknown): void } }
          KeyboardEvent: new (type: string, init: object) => unknown
          performance: { now(): number }
        }
        const frames: number[] = []
        let last = g.performance.now()
        let running = true
        const tick = (t: number) => {
          frames.push(t - last)
          last = t
          if (running) g.requestAnimationFrame(tick)
        }
        g.requestAnimationFrame(tick)
        const press = (key: string) =>
          g.document.body.dispatchEvent(new g.KeyboardEvent('keydown', { key, bubbles: true }))
        const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))
        press('End')
        await wait(500)
        press('Home')
        await wait(500)
        for (let i = 0; i < 200; i++) {
          press('ArrowDown')
          await wait(16)
        }
        running = false
        return frames.slice(1)
      })
      await page.waitForTimeout(300)
      const cells = await page.locator('[data-test="cell"]').count()
      const sorted = [...frameLog].sort((a, b) => a - b)
      const p95 = sorted[Math.floor(sorted.length * 0.95)]
      console.log(
        `cells in DOM ${cells}, library:query calls ${queries}, rows received ${rowsReceived} of ${N}, ` +
          `frames ${frameLog.length}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`
      )
      mkdirSync(SHOTS, { recursive: true })
      await page.screenshot({ path: join(SHOTS, 'scale-after-scrolling.png') })
      expect(cells).toBeLessThan(300)
      // End, Home and 200 rows of arrows touch a handful of 200-row pages, never the whole library.
      expect(rowsReceived).toBeLessThanOrEqual(12 * 200)
      await expect
        .poll(() =>
          page
            .locator('[data-test="cell"] img')
            .first()
            .evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)
        )
        .toBeGreaterThan(0)
    })
  }
)
