// The contract's schemas on their own: one per channel (checked at compile time, so a channel without a
// schema does not build), the domain schemas accept what the app itself produces, and a refusal reads well.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CHANNELS, type Channel, type CoversChannels } from '../../src/shared/ipc'
import { CHANNEL_SCHEMAS, type ChannelSchemas } from '../../src/shared/contract/channels'
import { BaseModelSchema, TrainConfigSchema } from '../../src/shared/contract/training'
import { describeIssues, formatPath, issuesLine } from '../../src/shared/contract/issues'
import { STRATEGIES } from '../../src/shared/training'
import { defaultTrainConfig } from '../../src/main/ml/train/config'

describe('the channel schema map', () => {
  it('has one schema per channel, and a missing or unknown channel fails the typecheck', () => {
    expect(Object.keys(CHANNEL_SCHEMAS).sort()).toEqual([...CHANNELS].sort())
    const complete: CoversChannels<ChannelSchemas> = true
    // @ts-expect-error -- without 'library:stats' the map no longer covers the contract
    const missing: CoversChannels<Omit<ChannelSchemas, 'library:stats'>> = true
    // @ts-expect-error -- a schema for a channel the contract does not have is refused as well
    const extra: CoversChannels<ChannelSchemas & { 'library:drop': z.ZodType }> = true
    expect([complete, missing, extra]).toEqual([true, true, true])
    // @ts-expect-error -- the allowlist record is typed by the contract in the same way
    const names: Record<Channel, true> = { 'library:stats': true }
    expect(names).toBeDefined()
  })

  it('makes every object strict: an unknown key is refused on every channel', () => {
    for (const channel of CHANNELS) {
      const result = CHANNEL_SCHEMAS[channel].safeParse({ notAField: 1 })
      expect(result.success, channel).toBe(false)
      expect(describeIssues(result.error!.issues, { notAField: 1 }), channel).toContain(
        'notAField: is not a known field'
      )
    }
  })
})

describe('TrainConfigSchema', () => {
  it("accepts the studio's own defaults for every strategy, unchanged", () => {
    for (const s of STRATEGIES) {
      const base =
        s === 'fine-tune' || s === 'feature-extraction' ? ({ kind: 'run', runId: 3 } as const) : undefined
      const c = defaultTrainConfig(s, base)
      expect(TrainConfigSchema.parse(c)).toEqual(c)
    }
  })

  it('does not coerce: numbers, booleans and enums must arrive as themselves', () => {
    const c = defaultTrainConfig('custom')
    const bad = [
      { ...c, learningRate: '0.003' },
      { ...c, epochs: 10.5 },
      { ...c, classBalanced: 'false' },
      { ...c, model: { ...c.model, width: true } },
      { ...c, preprocessing: { ...c.preprocessing, inputSize: '32' } },
      { ...c, augmentation: { ...c.augmentation, enabled: 1 } },
      { ...c, seed: Number.NaN },
      { ...c, learningRate: Number.POSITIVE_INFINITY }
    ]
    for (const value of bad) expect(TrainConfigSchema.safeParse(value).success).toBe(false)
  })

  it('keeps the cross-field rules: a base for fine-tuning, the architecture that fits the strategy', () => {
    const ft = {
      ...defaultTrainConfig('fine-tune', { kind: 'bvlc-npy', path: '/w.npy' }),
      base: { kind: 'none' }
    }
    expect(issuesLine(TrainConfigSchema.safeParse(ft).error!.issues, ft)).toMatch(
      /^base: is needed by fine-tune/
    )
    const arch = { ...defaultTrainConfig('custom'), model: { architecture: 'alexnet' } }
    expect(issuesLine(TrainConfigSchema.safeParse(arch).error!.issues, arch)).toBe(
      'model.architecture: does not fit strategy custom'
    )
  })

  it('takes a completed run as a base, by id only', () => {
    expect(BaseModelSchema.parse({ kind: 'run', runId: 4 })).toEqual({ kind: 'run', runId: 4 })
    expect(BaseModelSchema.safeParse({ kind: 'run', runId: '4' }).success).toBe(false)
    expect(BaseModelSchema.safeParse({ kind: 'run', runId: 4, path: '/srv/run-4' }).success).toBe(false)
  })
})

describe('refusal messages', () => {
  it('name the field by its path', () => {
    expect(formatPath([])).toBe('arguments')
    expect(formatPath(['config', 'model', 'width'])).toBe('config.model.width')
    expect(formatPath(['files', 2, 'name'])).toBe('files[2].name')
  })

  it('say what the value must be and what came instead', () => {
    const s = z.strictObject({
      n: z.int().min(1),
      e: z.enum(['a', 'b']),
      t: z.string().min(1),
      l: z.array(z.int()).max(2)
    })
    const input = { n: 1.5, e: 'c', t: '', l: [1, 2, 3] }
    expect(describeIssues(s.safeParse(input).error!.issues, input)).toEqual([
      'n: must be an integer, got 1.5',
      'e: must be one of a, b',
      't: must not be empty',
      'l: must have at most 2 items'
    ])
  })

  it('name the first bad id of a long id list (checked in one loop, not per element)', () => {
    const labels = CHANNEL_SCHEMAS['library:setLabel']
    const ids = Array.from({ length: 1_000_000 }, (_, i) => i + 1)
    expect(labels.parse({ imageIds: ids, classId: 2 }).imageIds).toBe(ids)
    for (const [imageIds, message] of [
      [[1, 0], 'imageIds[1]: must be an id (an integer >= 1), got 0'],
      [[1, 2.5], 'imageIds[1]: must be an id (an integer >= 1), got 2.5'],
      ['1,2', 'imageIds: must be an array, got "1,2"'],
      [[...ids, 1], 'imageIds: must have at most 1000000 items']
    ] as const) {
      const input = { imageIds, classId: null }
      expect(issuesLine(labels.safeParse(input).error!.issues, input)).toBe(message)
    }
  })

  it('report the closest variant of a union', () => {
    const files = CHANNEL_SCHEMAS['training:predict']
    const input = { runId: 1, files: [{ name: 'a.png', dataBase64: '***' }] }
    expect(issuesLine(files.safeParse(input).error!.issues, input)).toBe(
      'files[0].dataBase64: must be base64'
    )
  })
})
