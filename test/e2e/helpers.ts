// Set-up shared by the end-to-end tests: the built renderer, real GTSRB images copied into a test's own
// folder, and the REAL backend served over the REAL WebSocket server to headless Chromium, with what goes
// wrong in the page collected so a test can require that nothing did.
import { execSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect } from 'vitest'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { Backend } from '../../src/main/backend'
import { startServer, type RunningServer } from '../../src/main/server'
import { SHARED_DATA } from '../helpers'

export const ROOT = resolve(__dirname, '../..')
export const RENDERER = join(ROOT, 'out/renderer')
export const SHOTS = join(ROOT, 'test-output/screenshots')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Build the app unless the renderer and every one of `outputs` (e.g. the training worker) are there. */
export function ensureBuilt(...outputs: string[]): void {
  if (!existsSync(join(RENDERER, 'index.html')) || outputs.some((f) => !existsSync(f)))
    execSync('npx electron-vite build', { cwd: ROOT, stdio: 'inherit' })
}

/**
 * Copy real GTSRB training images into `<dir>/images/<class id>/` (`pick` chooses from each class's sorted
 * file names) and the class names CSV to `<dir>/signnames.csv`; returns both paths.
 */
export function copyGtsrb(
  dir: string,
  classIds: string[],
  pick: (files: string[]) => string[]
): { images: string; signnames: string } {
  const images = join(dir, 'images')
  for (const id of classIds) {
    mkdirSync(join(images, id), { recursive: true })
    const files = readdirSync(join(SHARED_DATA, 'gtsrb-train', id)).sort()
    for (const f of pick(files)) copyFileSync(join(SHARED_DATA, 'gtsrb-train', id, f), join(images, id, f))
  }
  const signnames = join(dir, 'signnames.csv')
  copyFileSync(join(SHARED_DATA, 'signnames.csv'), signnames)
  return { images, signnames }
}

export interface BrowserSession {
  server: RunningServer
  context: BrowserContext
  page: Page
  /** Uncaught page errors and console errors (and HTTP errors when asked), in order. */
  errors: string[]
  /** Close the browser, then the server; the backend stays the caller's. */
  close: () => Promise<void>
}

/**
 * Serve `backend` and the built renderer on a free port and open headless Chromium on a fresh profile in
 * `profileDir`. `httpErrors` also counts every response with status 400 or more as an error.
 */
export async function openInChromium(
  backend: Backend,
  opts: { profileDir: string; viewport: { width: number; height: number }; httpErrors?: boolean }
): Promise<BrowserSession> {
  const server = await startServer({ backend, port: 0, staticDir: RENDERER })
  const context = await chromium.launchPersistentContext(opts.profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: opts.viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  if (opts.httpErrors)
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`)
    })
  return {
    server,
    context,
    page,
    errors,
    close: async () => {
      await context.close()
      await server.close()
    }
  }
}

/** An `<img>` as seen from Node: this project's Node tsconfig has no DOM types. */
export type LoadedImage = { complete: boolean; naturalWidth: number }

/** Wait until every image matching `selector` has really loaded (decoded, with a width), and there is one. */
export async function thumbnailsLoaded(page: Page, selector = '[data-test="cell"] img'): Promise<void> {
  // Page-side code is passed as a function: the app's CSP forbids eval, which string predicates need.
  await expect
    .poll(
      () =>
        page
          .locator(selector)
          .evaluateAll(
            (els) =>
              els.length > 0 &&
              els.every(
                (e) =>
                  (e as unknown as LoadedImage).complete && (e as unknown as LoadedImage).naturalWidth > 0
              )
          ),
      { timeout: 20_000 }
    )
    .toBe(true)
}
