// Learning-rate schedules of the trainer: constant, cosine and one-cycle, per step.
import { describe, expect, it } from 'vitest'
import { scheduledRate } from '../../../../src/main/ml/train/trainer'
import { defaultTrainConfig, validateTrainConfig } from '../../../../src/main/ml/train/config'

describe('scheduledRate', () => {
  const base = { ...defaultTrainConfig('custom'), lrSchedule: undefined, learningRate: 0.01 }

  it('is constant without a schedule', () => {
    expect(scheduledRate(base, 0, 100)).toBe(0.01)
    expect(scheduledRate({ ...base, lrSchedule: 'constant' }, 99, 100)).toBe(0.01)
  })

  it('cosine falls from the rate to zero, half way at the middle', () => {
    const c = { ...base, lrSchedule: 'cosine' as const }
    expect(scheduledRate(c, 0, 101)).toBeCloseTo(0.01, 10)
    expect(scheduledRate(c, 50, 101)).toBeCloseTo(0.005, 10)
    expect(scheduledRate(c, 100, 101)).toBeCloseTo(0, 10)
  })

  it('one-cycle warms up from a tenth to the peak at 20 %, then anneals to a thousandth', () => {
    const c = { ...base, lrSchedule: 'one-cycle' as const }
    const total = 1001
    const rates = Array.from({ length: total }, (_, i) => scheduledRate(c, i, total))
    expect(rates[0]).toBeCloseTo(0.001, 10)
    expect(Math.max(...rates)).toBeCloseTo(0.01, 10)
    expect(rates.indexOf(Math.max(...rates))).toBe(200)
    expect(rates[total - 1]).toBeCloseTo(0.00001, 10)
    for (let i = 1; i <= 200; i++) expect(rates[i]).toBeGreaterThan(rates[i - 1])
    for (let i = 201; i < total; i++) expect(rates[i]).toBeLessThan(rates[i - 1])
  })

  it('the compact CNN defaults to one-cycle; the AlexNet strategies to a constant rate', () => {
    expect(defaultTrainConfig('custom').lrSchedule).toBe('one-cycle')
    expect(defaultTrainConfig('fine-tune').lrSchedule).toBeUndefined()
  })

  it('the config check accepts the schedules and names a bad one', () => {
    expect(validateTrainConfig({ ...base, lrSchedule: 'one-cycle' }).lrSchedule).toBe('one-cycle')
    expect(() => validateTrainConfig({ ...base, lrSchedule: 'step' })).toThrow(/lrSchedule/)
  })
})
