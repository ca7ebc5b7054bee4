// Shared test helpers: where the real GTSRB data lives, and per-test temporary folders.
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** `../shared/data` beside the checkout (CI lays a copy of shared/ there too). */
export const SHARED_DATA = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../shared/data')

export function sharedDataAvailable(): boolean {
  return existsSync(join(SHARED_DATA, 'gtsrb-train'))
}

/** A fresh temporary folder and its remover; each test owns its own. */
export function tempDir(prefix = 'ts-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
