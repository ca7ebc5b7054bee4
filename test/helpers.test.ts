import { describe, expect, it, vi } from 'vitest'
import { sharedDataAvailable } from './helpers'

describe('sharedDataAvailable', () => {
  it('is an error under CI when the shared data is missing, and a skip elsewhere', async () => {
    const previous = process.env.TS_SHARED_DATA
    try {
      process.env.TS_SHARED_DATA = '/nonexistent/shared-data'
      // SHARED_DATA is read when the module loads: load a fresh copy with the missing folder.
      vi.resetModules()
      const fresh = await import('./helpers')
      expect(fresh.sharedDataAvailable({})).toBe(false)
      expect(() => fresh.sharedDataAvailable({ CI: 'true' })).toThrow(/shared GTSRB data is missing/)
    } finally {
      if (previous === undefined) delete process.env.TS_SHARED_DATA
      else process.env.TS_SHARED_DATA = previous
    }
  })

  it.skipIf(!sharedDataAvailable())('finds the data beside this checkout, CI or not', () => {
    expect(sharedDataAvailable({ CI: 'true' })).toBe(true)
  })
})
