// The contract's allowlists: every channel the backend implements is listed (and nothing else), names are
// unique, and `isChannel` cannot be fooled by inherited property names.
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { CHANNELS, EVENTS, isChannel, isEventName, type Channel, type EventName } from '../../src/shared/ipc'
import { TRAINING_CHANNELS } from '../../src/shared/trainingIpc'
import { createBackend } from '../../src/main/backend'
import { tempDir } from '../helpers'

const STUDIO: Channel[] = [
  'system:info',
  'library:undoState',
  'training:validateBase',
  'training:estimate',
  'training:predict',
  'training:exportPreview',
  'dialog:open'
]

describe('IPC contract allowlists', () => {
  it('lists exactly the channels the backend implements, once each', async () => {
    const tmp = tempDir()
    const backend = createBackend({ dataDir: join(tmp.dir, 'data') })
    try {
      expect(new Set(CHANNELS).size).toBe(CHANNELS.length)
      expect(Object.keys(backend.handlers).sort()).toEqual([...CHANNELS].sort())
      // The training slice and the studio channels are merged in, and served.
      for (const c of [...TRAINING_CHANNELS, ...STUDIO]) {
        expect(CHANNELS).toContain(c)
        expect(typeof backend.handlers[c]).toBe('function')
      }
      expect(EVENTS).toContain('training-progress')
    } finally {
      await backend.dispose()
      tmp.remove()
    }
  })

  it('names every event once, and the event list is complete at compile time', () => {
    expect(new Set(EVENTS).size).toBe(EVENTS.length)
    // A missing key in this record is a type error; the channel side is checked in contract.test.ts.
    const events: Record<EventName, true> = {
      'import-progress': true,
      'library-changed': true,
      'training-progress': true,
      'hub-progress': true,
      'review-progress': true
    }
    expect(Object.keys(events).sort()).toEqual([...EVENTS].sort())
    for (const e of EVENTS) expect(isEventName(e)).toBe(true)
    for (const bad of ['constructor', '__proto__', 'secrets', '']) expect(isEventName(bad)).toBe(false)
  })

  it('isChannel accepts listed names only', () => {
    for (const c of CHANNELS) expect(isChannel(c)).toBe(true)
    for (const bad of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'library:',
      'LIBRARY:STATS',
      ''
    ]) {
      expect(isChannel(bad)).toBe(false)
    }
    for (const bad of [undefined, null, 1, {}, ['library:stats'], { toString: () => 'library:stats' }]) {
      expect(isChannel(bad)).toBe(false)
    }
  })
})
