// The contract's schemas at the real backend's boundary: no coercion, no unknown keys, numbers in range,
// with a message that names the channel and the field; the same through the WebSocket transport's dispatch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { createBackend, type Backend } from '../../../src/main/backend'
import { dispatch } from '../../../src/main/server/dispatch'
import { defaultTrainConfig } from '../../../src/main/ml/train/config'
import type { TrainConfig } from '../../../src/shared/training'
import { tempDir } from '../../helpers'

/** Call a handler with arguments the types would refuse (what an untrusted client can send). */
type Loose = Record<string, (args: unknown) => Promise<unknown>>

function config(over: (c: TrainConfig) => unknown): unknown {
  const c = defaultTrainConfig('custom')
  over(c)
  return c
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  const error = await p.then(
    () => null,
    (e: unknown) => e
  )
  if (!(error instanceof Error)) throw new Error('expected a refusal, the call succeeded')
  return error
}

describe('the contract at the backend boundary', () => {
  let tmp: ReturnType<typeof tempDir>
  let b: Backend
  let h: Loose
  beforeEach(() => {
    tmp = tempDir()
    b = createBackend({ dataDir: join(tmp.dir, 'data'), projectPath: join(tmp.dir, 'p.tsproj') })
    h = b.handlers as unknown as Loose
  })
  afterEach(async () => {
    await b.dispose()
    tmp.remove()
  })

  it('refuses a learning rate sent as a string and a width sent as a boolean, and stores no run', async () => {
    const rate = config((c) => ((c as { learningRate: unknown }).learningRate = '0.003'))
    const width = config((c) => ((c.model as { width: unknown }).width = true))
    for (const channel of ['training:start', 'training:estimate']) {
      const e1 = await refusal(h[channel]({ config: rate }))
      expect(e1.name).toBe('ValidationError')
      expect(e1.message).toBe(`${channel}: config.learningRate: must be a number, got "0.003"`)
      const e2 = await refusal(h[channel]({ config: width }))
      expect(e2.name).toBe('ValidationError')
      expect(e2.message).toBe(`${channel}: config.model.width: must be a number, got true`)
    }
    expect(await b.handlers['training:list']({})).toEqual([])
  })

  it('refuses the same through the WebSocket dispatch', async () => {
    const rate = config((c) => ((c as { learningRate: unknown }).learningRate = '0.003'))
    const e = await refusal(dispatch(b, 'training:start', { config: rate }))
    expect(e).toMatchObject({
      name: 'ValidationError',
      message: 'training:start: config.learningRate: must be a number, got "0.003"'
    })
    const width = config((c) => ((c.model as { width: unknown }).width = true))
    expect((await refusal(dispatch(b, 'training:start', { config: width }))).message).toMatch(
      /config\.model\.width: must be a number/
    )
    // Numbers in strings are not numbers anywhere: an id, a page size.
    expect((await refusal(dispatch(b, 'library:image', { id: '1' }))).message).toBe(
      'library:image: id: must be a number, got "1"'
    )
    expect(await b.handlers['training:list']({})).toEqual([])
  })

  it('refuses unknown keys, at the top and nested', async () => {
    expect((await refusal(h['library:stats']({ verbose: true }))).message).toBe(
      'library:stats: verbose: is not a known field'
    )
    const extra = config((c) => ((c.model as unknown as Record<string, unknown>).depth = 8))
    expect((await refusal(h['training:start']({ config: extra }))).message).toBe(
      'training:start: config.model.depth: is not a known field'
    )
    const e = await refusal(
      h['library:query']({ filter: { classIds: [1], sql: '1=1' }, offset: 0, limit: 10 })
    )
    expect(e.message).toBe('library:query: filter.sql: is not a known field')
  })

  it('refuses numbers out of range, naming the field and the bound', async () => {
    const cases: [string, unknown, string][] = [
      ['library:query', { filter: {}, offset: 0, limit: 1001 }, 'library:query: limit: must be <= 1000'],
      ['library:image', { id: 0 }, 'library:image: id: must be >= 1'],
      ['training:start', { config: config((c) => (c.epochs = 0)) }, 'config.epochs: must be >= 1'],
      [
        'training:start',
        { config: config((c) => (c.batchSize = 5000)) },
        'config.batchSize: must be <= 4096'
      ],
      ['training:start', { config: config((c) => (c.learningRate = 0)) }, 'config.learningRate: must be > 0'],
      [
        'training:start',
        { config: config((c) => (c.model.dropout = 1)) },
        'config.model.dropout: must be < 1'
      ],
      [
        'training:start',
        { config: config((c) => (c.preprocessing.inputSize = 5000)) },
        'config.preprocessing.inputSize: must be <= 4096'
      ],
      [
        'training:predict',
        { runId: 1, files: [{ path: '/x.png' }], top: 101 },
        'training:predict: top: must be <= 100'
      ]
    ]
    for (const [channel, args, message] of cases) {
      const e = await refusal(h[channel](args))
      expect(e.name).toBe('ValidationError')
      expect(e.message).toContain(message)
      expect(e.message.startsWith(`${channel}: `)).toBe(true)
    }
    expect(await b.handlers['training:list']({})).toEqual([])
  })

  it('lists several problems of one request in one line', async () => {
    const e = await refusal(h['library:split']({ val: '0.1', test: 2, groupBy: 'folder' }))
    expect(e.message).toBe(
      'library:split: val: must be a number, got "0.1"; test: must be <= 1; ' +
        'groupBy: must be one of track, none; seed: must be a number, got nothing'
    )
  })

  it('accepts a completed run as a base model (the backend resolves it, not the renderer)', async () => {
    // The schema lets `{ kind: 'run' }` through to the base check, which looks for run 1 in this project.
    const answer = await b.handlers['training:validateBase']({ base: { kind: 'run', runId: 1 } }).catch(
      (e: Error) => e
    )
    expect(answer).not.toMatchObject({ name: 'ValidationError' })
    expect((await refusal(h['training:validateBase']({ base: { kind: 'run', runId: 0 } }))).message).toBe(
      'training:validateBase: base.runId: must be >= 1'
    )
    expect(
      (await refusal(h['training:validateBase']({ base: { kind: 'run', path: '/m' } }))).message
    ).toMatch(/base\.runId: must be a number, got nothing; base\.path: is not a known field/)
    expect((await refusal(h['training:validateBase']({ base: { kind: 'zip' } }))).message).toBe(
      'training:validateBase: base.kind: must be one of none, bvlc-npy, studio-model, run, hub, torchvision-pth, onnx'
    )
  })
})
