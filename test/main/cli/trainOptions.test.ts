// How `transfer-studio train` options become a TrainConfig: the strategy's defaults, and the flags over them.
import { describe, expect, it } from 'vitest'
import { configFromOptions } from '../../../src/main/cli/commands/train'

const opts = (
  o: Partial<Parameters<typeof configFromOptions>[0]> = {}
): Parameters<typeof configFromOptions>[0] => ({
  project: 'p.tsproj',
  strategy: 'custom',
  optimizer: 'adam',
  batchNorm: true,
  ...o
})

describe('configFromOptions', () => {
  it('the compact CNN starts from the measured GTSRB recipe', () => {
    const c = configFromOptions(opts())
    expect(c.model).toEqual({ architecture: 'compact', width: 1, fcUnits: 256, dropout: 0.25 })
    expect(c.preprocessing.testTimeZoom).toBe(0.9)
    expect(c.augmentation.enabled).toBe(true)
    expect(c.lrSchedule).toBe('one-cycle')
    expect([c.epochs, c.batchSize, c.learningRate, c.earlyStoppingPatience]).toEqual([21, 64, 3e-3, 0])
    expect(c.augmentation.brightness).toBe(0.3)
    expect(c.preprocessing.meanSubtraction).toBe('per-image-std')
  })

  it('--no-augment turns the default augmentation off; --augment turns it on where it is off', () => {
    expect(configFromOptions(opts({ augment: false })).augmentation.enabled).toBe(false)
    expect(configFromOptions(opts({ strategy: 'retrain' })).augmentation.enabled).toBe(false)
    expect(configFromOptions(opts({ strategy: 'retrain', augment: true })).augmentation.enabled).toBe(true)
  })

  it('mirrors the signs that have a mirror image unless --no-mirror-signs', () => {
    expect(configFromOptions(opts()).augmentation.mirrorSigns).toBe(true)
    // commander gives true for a lone --no- option left out, false when it is given.
    expect(configFromOptions(opts({ mirrorSigns: true })).augmentation.mirrorSigns).toBe(true)
    expect(configFromOptions(opts({ mirrorSigns: false })).augmentation.mirrorSigns).toBe(false)
  })

  it('flags override the recipe', () => {
    const c = configFromOptions(
      opts({ epochs: '5', batchSize: '32', lr: '1e-3', lrSchedule: 'constant', patience: '2', width: '0.5' })
    )
    expect([c.epochs, c.batchSize, c.learningRate, c.lrSchedule, c.earlyStoppingPatience]).toEqual([
      5,
      32,
      1e-3,
      'constant',
      2
    ])
    expect(c.model.width).toBe(0.5)
  })

  it("refuses what the flags let through but the contract's schema does not, naming the field", () => {
    expect(() => configFromOptions(opts({ inputSize: '5000' }))).toThrow(
      'training config: preprocessing.inputSize: must be <= 4096'
    )
    expect(() => configFromOptions(opts({ seed: '-1' }))).toThrow('training config: seed: must be >= 0')
  })
})
