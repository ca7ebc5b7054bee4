// The one typed emitter (backend events, project changes, the WebSocket client): unsubscribing works, even
// from inside a listener, and a listener that throws does not keep the event from the others.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEmitter } from '../../src/shared/emitter'

type Events = { tick: number; name: string }

describe('createEmitter', () => {
  afterEach(() => vi.restoreAllMocks())

  it('delivers to the listeners of an event until they unsubscribe', () => {
    const e = createEmitter<Events>()
    const ticks: number[] = []
    const names: string[] = []
    const off = e.on('tick', (n) => ticks.push(n))
    e.on('name', (s) => names.push(s))
    e.emit('tick', 1)
    expect(e.listenerCount('tick')).toBe(1)
    off()
    off()
    e.emit('tick', 2)
    e.emit('name', 'a')
    expect(ticks).toEqual([1])
    expect(names).toEqual(['a'])
    expect(e.listenerCount('tick')).toBe(0)
  })

  it('keeps delivering when one listener throws, and says so on the console', () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const e = createEmitter<Events>()
    const got: string[] = []
    e.on('tick', () => got.push('first'))
    e.on('tick', () => {
      throw new Error('broken listener')
    })
    e.on('tick', () => got.push('third'))
    expect(() => e.emit('tick', 1)).not.toThrow()
    expect(got).toEqual(['first', 'third'])
    expect(logged).toHaveBeenCalledOnce()
    expect(String(logged.mock.calls[0])).toMatch(/tick/)
  })

  it('lets a listener unsubscribe itself while the event is delivered', () => {
    const e = createEmitter<Events>()
    const got: string[] = []
    const off = e.on('tick', () => {
      got.push('once')
      off()
    })
    e.on('tick', () => got.push('always'))
    e.emit('tick', 1)
    e.emit('tick', 2)
    expect(got).toEqual(['once', 'always', 'always'])
  })

  it('drops every listener on clear', () => {
    const e = createEmitter<Events>()
    const got: number[] = []
    e.on('tick', (n) => got.push(n))
    e.clear()
    e.emit('tick', 1)
    expect(got).toEqual([])
  })
})
