// The About / status screen in real Chromium against the real backend, in English and in Chinese: opened from
// the studio's navigation, it shows the app's version, the backend that really trains here (WebAssembly with
// SIMD: this machine has no tfjs-node binary) and why, the cores a run uses out of this machine's
// (os.availableParallelism), onnxruntime loaded, and the doctor's advice worded in the UI's language with the
// command ready to copy. In Chinese no English may be left but the names kept in every language and the
// commands themselves. The facts come from the built training worker, as in the app. Screenshots:
// about-en.png, about-zh-CN.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync } from 'node:fs'
import { availableParallelism, arch, platform } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { createBackend, type Backend } from '../../src/main/backend'
import { trainThreads } from '../../src/main/ml/train/threads'
import { version } from '../../package.json'
import { tempDir } from '../helpers'
import { CHROMIUM, ROOT, SHOTS, ensureBuilt, openInChromium, type BrowserSession } from './helpers'
import { strayEnglish } from './strayEnglish'

const WORKER = join(ROOT, 'out/main/trainWorker.js')
const canRun = existsSync(CHROMIUM)
/** Identifiers that stay as written in every language: packages, commands, the runtime and its ABI. */
const IDENTIFIERS = [
  'npm install @tensorflow/tfjs-node',
  'transfer-studio doctor',
  'libtensorflow',
  'tfjs-node',
  'N-API',
  'ABI',
  'Node',
  'NVIDIA',
  `${platform()}-${arch()}`,
  'signs'
]

/** The page's clipboard text (page-side code; this project's Node tsconfig has no DOM types). */
const readClipboard = (): Promise<string> =>
  (
    globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
  ).navigator.clipboard.readText()

describe.skipIf(!canRun)('the About / status screen', () => {
  let tmp: ReturnType<typeof tempDir>
  let backend: Backend
  let session: BrowserSession
  let page: Page

  beforeAll(async () => {
    ensureBuilt(WORKER)
    mkdirSync(SHOTS, { recursive: true })
    tmp = tempDir('ts-about-e2e-')
    // As in the app: the doctor's facts are read in the built training worker, forked for the job.
    backend = createBackend({ dataDir: join(tmp.dir, 'appdata'), workerEntry: WORKER })
    session = await openInChromium(backend, {
      profileDir: join(tmp.dir, 'profile'),
      viewport: { width: 1280, height: 900 }
    })
    page = session.page
    await session.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(session.server.url).origin
    })
  })

  afterAll(async () => {
    await session?.close()
    await backend?.dispose()
    tmp?.remove()
  })

  async function openAbout(): Promise<void> {
    await page.locator('[data-test="nav-about"]').click()
    await page.locator('[data-test="about-backend-name"]').waitFor({ timeout: 60_000 })
  }

  async function closeAbout(): Promise<void> {
    await page.keyboard.press('Escape')
    await page.locator('[data-test="about"]').waitFor({ state: 'detached' })
  }

  it('in English: the real backend and why, the cores, onnxruntime, and the advice to copy', async () => {
    await page.goto(session.server.url)
    await page.locator('[data-test="language"]').selectOption('en')
    await page.locator('[data-test="create-path"]').fill(join(tmp.dir, 'signs.tsproj'))
    await page.locator('[data-test="create"]').click()
    await openAbout()

    const text = (sel: string): Promise<string> => page.locator(`[data-test="${sel}"]`).innerText()
    expect(await text('about-version')).toBe(`Transfer Studio ${version}`)
    expect(await text('about-backend-name')).toBe('wasm')
    expect(await text('about-backend')).toMatch(/^wasm 4\.\d+\.\d+\s/)
    expect(await text('about-backend-kind')).toBe('TensorFlow.js on WebAssembly, SIMD on')
    expect(await text('about-why')).toBe('tfjs-node not installed')
    const cores = availableParallelism()
    const used = trainThreads('wasm')
    expect(await text('about-cores')).toBe(`${used} of ${cores}`)
    expect(await page.locator('[data-test="about-cores"]').getAttribute('data-cores')).toBe(String(cores))
    expect(await page.locator('[data-test="about-onnx"]').getAttribute('data-loaded')).toBe('true')
    expect(await text('about-onnx')).toBe('loaded')
    expect(await text('about-runtime')).toContain(
      `Node ${process.versions.node} (N-API ${process.versions.napi})`
    )

    // The advice this machine gets: native TensorFlow, in English, with its command to copy.
    const native = page.locator('[data-test="about-advice-item"][data-code="doctor.advice.native"]')
    expect(await native.innerText()).toMatch(/Native TensorFlow on the CPU.*N-API 8/)
    expect(await native.locator('[data-test="about-command"]').innerText()).toBe(
      'npm install @tensorflow/tfjs-node'
    )
    await native.locator('[data-test="about-copy"]').click()
    await expect.poll(() => native.locator('[data-test="about-copy"]').innerText()).toBe('Copied')
    expect(await page.evaluate(readClipboard)).toBe('npm install @tensorflow/tfjs-node')
    await page.screenshot({ path: join(SHOTS, 'about-en.png') })
    await closeAbout()
    expect(session.errors).toEqual([])
  })

  it('in Chinese: the same facts, the advice worded in Chinese, no English left', async () => {
    await page.locator('[data-test="language"]').selectOption('zh-CN')
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('zh-CN')
    await openAbout()

    const text = (sel: string): Promise<string> => page.locator(`[data-test="${sel}"]`).innerText()
    expect(await text('about-backend-name')).toBe('wasm')
    expect(await text('about-backend-kind')).toBe('基于 WebAssembly 的 TensorFlow.js，已启用 SIMD')
    expect(await text('about-why')).toBe('未安装 tfjs-node')
    const cores = availableParallelism()
    expect(await text('about-cores')).toBe(`${cores} 个中的 ${trainThreads('wasm')} 个`)
    expect(await text('about-onnx')).toBe('已加载')
    const native = page.locator('[data-test="about-advice-item"][data-code="doctor.advice.native"]')
    expect(await native.innerText()).toMatch(/CPU 上的原生 TensorFlow（tfjs-node）.*N-API 8/)
    expect(await native.locator('[data-test="about-copy"]').innerText()).toBe('复制')
    expect(await strayEnglish(page, IDENTIFIERS)).toEqual([])
    await page.screenshot({ path: join(SHOTS, 'about-zh-CN.png') })
    expect(session.errors).toEqual([])
  })
})
