import { describe, expect, it } from 'vitest'
import { evaluatePredictions } from '../../../../src/main/ml/evaluate/metrics'
import type { Example } from '../../../../src/main/ml/data/types'

const ex = (i: number, label: number): Example => ({
  imageId: 100 + i,
  path: `/img/${i}.ppm`,
  hash: '',
  label,
  roi: null
})
const classes = [
  { index: 0, classId: 14, name: 'Stop' },
  { index: 1, classId: 1, name: 'Speed 30' },
  { index: 2, classId: 33, name: 'Turn right' }
]

describe('evaluatePredictions', () => {
  // 5 images, 3 classes. Rows: label -> probabilities.
  const rows: [number, number[]][] = [
    [0, [0.7, 0.2, 0.1]], // correct
    [0, [0.1, 0.6, 0.3]], // 0 predicted as 1 (conf 0.6)
    [1, [0.05, 0.9, 0.05]], // correct
    [2, [0.8, 0.05, 0.15]], // 2 predicted as 0 (conf 0.8)
    [2, [0.2, 0.3, 0.5]] // correct
  ]
  const input = {
    probabilities: Float32Array.from(rows.flatMap((r) => r[1])),
    numClasses: 3,
    labels: Int32Array.from(rows.map((r) => r[0])),
    examples: rows.map((r, i) => ex(i, r[0])),
    classes
  }

  it('computes accuracy, confusion and per-class metrics by hand', () => {
    const r = evaluatePredictions(input)
    expect(r.images).toBe(5)
    expect(r.accuracy).toBeCloseTo(3 / 5, 10)
    expect(r.top5Accuracy).toBe(1) // 3 classes: every label is in the top 5
    expect(r.classIds).toEqual([14, 1, 33])
    expect(r.confusion).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 1]
    ])
    // class 0: predicted twice (rows 0, 3), one right -> P 0.5; 2 images, one right -> R 0.5
    // class 1: predicted twice (rows 1, 2) -> P 0.5; R 1/1
    // class 2: predicted once (row 4) -> P 1; R 1/2
    expect(r.perClass).toEqual([
      { classId: 14, name: 'Stop', precision: 0.5, recall: 0.5, support: 2 },
      { classId: 1, name: 'Speed 30', precision: 0.5, recall: 1, support: 1 },
      { classId: 33, name: 'Turn right', precision: 1, recall: 0.5, support: 2 }
    ])
    expect(r.failed).toEqual([])
  })

  it('lists mistakes with class ids and confidence, most confident first', () => {
    const r = evaluatePredictions(input)
    expect(r.misclassified).toHaveLength(2)
    expect(r.misclassified[0]).toMatchObject({
      imageId: 103,
      path: '/img/3.ppm',
      labelClassId: 33,
      predictedClassId: 14
    })
    expect(r.misclassified[0].confidence).toBeCloseTo(0.8, 6)
    expect(r.misclassified[1]).toMatchObject({ imageId: 101, labelClassId: 14, predictedClassId: 1 })
    expect(r.misclassified[1].confidence).toBeCloseTo(0.6, 6)
  })

  it('top-5 counts ranks among 7 classes', () => {
    // label 6 ranks 6th in row 0 (miss), 5th in row 1 (hit), 1st in row 2 (hit).
    const p = [
      [0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05],
      [0.3, 0.2, 0.15, 0.12, 0.05, 0.08, 0.1],
      [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4]
    ]
    const cls = Array.from({ length: 7 }, (_, i) => ({ index: i, classId: i, name: `c${i}` }))
    const r = evaluatePredictions({
      probabilities: Float32Array.from(p.flat()),
      numClasses: 7,
      labels: Int32Array.from([6, 6, 6]),
      examples: [ex(0, 6), ex(1, 6), ex(2, 6)],
      classes: cls,
      failed: [{ path: '/bad.ppm', reason: 'truncated' }]
    })
    expect(r.top5Accuracy).toBeCloseTo(2 / 3, 10)
    expect(r.accuracy).toBeCloseTo(1 / 3, 10)
    expect(r.failed).toEqual([{ path: '/bad.ppm', reason: 'truncated' }])
    // Classes with no images get recall 0 (and precision 0 when never predicted).
    expect(r.perClass[3]).toEqual({ classId: 3, name: 'c3', precision: 0, recall: 0, support: 0 })
    expect(r.perClass[0].precision).toBe(0) // predicted twice, both wrong
  })

  it('rejects inconsistent input with clear messages', () => {
    expect(() => evaluatePredictions({ ...input, numClasses: 4 })).toThrow(/expected 5 x 4/)
    expect(() => evaluatePredictions({ ...input, labels: Int32Array.from([0, 0, 1, 2, 5]) })).toThrow(
      /label 5, outside 0..2/
    )
    expect(() => evaluatePredictions({ ...input, classes: classes.slice(0, 2) })).toThrow(
      /no class given for output index 2/
    )
    expect(() => evaluatePredictions({ ...input, labels: Int32Array.from([0]) })).toThrow(/1 entries for 5/)
  })

  it('empty evaluation gives zeros, not NaN', () => {
    const r = evaluatePredictions({
      probabilities: new Float32Array(0),
      numClasses: 3,
      labels: new Int32Array(0),
      examples: [],
      classes
    })
    expect(r.accuracy).toBe(0)
    expect(r.top5Accuracy).toBe(0)
    expect(r.perClass.every((c) => c.precision === 0 && c.recall === 0 && c.support === 0)).toBe(true)
  })
})
