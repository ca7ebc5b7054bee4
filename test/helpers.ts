// Shared test helpers: where the real GTSRB data lives, and per-test temporary folders.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** `../shared/data` beside the checkout (CI lays a copy of shared/ there too). */
export const SHARED_DATA = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../shared/data')

/**
 * Whether the real GTSRB images are beside the checkout. Tests that need them are skipped on a developer's
 * machine without them, but under CI (`CI` set) a missing folder is an error: a green run that skipped a
 * third of the suite would prove nothing.
 */
export function sharedDataAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  const found = existsSync(join(SHARED_DATA, 'gtsrb-train'))
  if (!found && env.CI && env.CI !== 'false') {
    throw new Error(
      `the shared GTSRB data is missing (looked in ${SHARED_DATA}); CI needs it: put it there or set TS_SHARED_DATA`
    )
  }
  return found
}

/** A fresh temporary folder and its remover; each test owns its own. */
export function tempDir(prefix = 'ts-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A GTSRB-style folder (`<dir>/<class>/<file>`) of symlinks to every `n`th frame of each class of the shared
 * gtsrb-train: with n = 7, about 21 images per class spread over all 5 tracks, so a track split leaves each
 * split some. Returns `dir`.
 */
export function linkEveryNthFrame(dir: string, classes: readonly number[], n: number): string {
  for (const c of classes) {
    mkdirSync(join(dir, String(c)), { recursive: true })
    const from = join(SHARED_DATA, 'gtsrb-train', String(c))
    readdirSync(from)
      .sort()
      .filter((_, i) => i % n === 0)
      .forEach((f) => symlinkSync(join(from, f), join(dir, String(c), f)))
  }
  return dir
}
