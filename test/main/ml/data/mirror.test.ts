// Mirror augmentation for signs: which GTSRB classes may be mirrored (and into what), and the batch
// source mirroring half of those images, relabelling twins, and never touching the other classes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Augmentation, Preprocessing } from '../../../../src/shared/training'
import { createBatchSource } from '../../../../src/main/ml/data/batches'
import { mirrorTable } from '../../../../src/main/ml/data/mirror'
import type { Example } from '../../../../src/main/ml/data/types'
import { SHARED_DATA, sharedDataAvailable } from '../../../helpers'

const GTSRB_NAMES = [
  [11, 'Right-of-way at the next intersection'],
  [12, 'Priority road'],
  [14, 'Stop'],
  [17, 'No entry'],
  [19, 'Dangerous curve to the left'],
  [20, 'Dangerous curve to the right'],
  [33, 'Turn right ahead'],
  [34, 'Turn left ahead'],
  [24, 'Road narrows on the right']
] as const

describe('mirrorTable', () => {
  const classes = GTSRB_NAMES.map(([, name], index) => ({ index, name }))
  const at = (name: string): number => classes.find((c) => c.name === name)!.index

  it('keeps symmetric signs, swaps twins, and never mirrors the others', () => {
    const t = mirrorTable(classes)!
    expect(t[at('No entry')]).toBe(at('No entry'))
    expect(t[at('Priority road')]).toBe(at('Priority road'))
    expect(t[at('Turn right ahead')]).toBe(at('Turn left ahead'))
    expect(t[at('Turn left ahead')]).toBe(at('Turn right ahead'))
    expect(t[at('Dangerous curve to the left')]).toBe(at('Dangerous curve to the right'))
    expect(t[at('Stop')]).toBe(-1)
    expect(t[at('Road narrows on the right')]).toBe(-1)
  })

  it('leaves a twin alone when its partner is not a class, and matches names loosely', () => {
    const t = mirrorTable([
      { index: 0, name: 'turn LEFT  ahead' },
      { index: 1, name: ' no entry ' }
    ])!
    expect(Array.from(t)).toEqual([-1, 1])
    expect(
      mirrorTable([
        { index: 0, name: 'cat' },
        { index: 1, name: 'dog' }
      ])
    ).toBeNull()
  })

  it.skipIf(!sharedDataAvailable())('covers 18 of the 43 GTSRB classes named by signnames.csv', () => {
    const rows = readFileSync(join(SHARED_DATA, 'signnames.csv'), 'utf8').trim().split('\n').slice(1)
    const t = mirrorTable(rows.map((r, index) => ({ index, name: r.slice(r.indexOf(',') + 1) })))!
    const mirrored = Array.from(t).flatMap((v, i) => (v >= 0 ? [i] : []))
    expect(mirrored).toEqual([11, 12, 13, 15, 17, 18, 19, 20, 22, 26, 30, 33, 34, 35, 36, 37, 38, 39])
  })
})

describe('the batch source with a mirror table', () => {
  const W = 8
  /** An image whose columns differ, so a mirrored copy is told apart: value = 20 * x + y per channel. */
  const img = { width: W, height: W, data: new Uint8Array(W * W * 3) }
  for (let y = 0; y < W; y++)
    for (let x = 0; x < W; x++) img.data.fill(20 * x + y, (y * W + x) * 3, (y * W + x) * 3 + 3)
  const prep: Preprocessing = {
    inputSize: W,
    channelOrder: 'RGB',
    meanSubtraction: 'none',
    scale: 1,
    resize: 'bilinear',
    cropToRoi: false
  }
  // Augmentation on, every amplitude zero: the only change left is the mirror.
  const aug: Augmentation = {
    enabled: true,
    shift: 0,
    rotationDeg: 0,
    scale: 0,
    brightness: 0,
    contrast: 0,
    horizontalFlip: false,
    mirrorSigns: true
  }
  // Class 0: symmetric; 1 and 2: twins; 3: never mirrored.
  const mirror = Int32Array.from([0, 2, 1, -1])
  const examples: Example[] = Array.from({ length: 400 }, (_, i) => ({
    imageId: i,
    path: `img${i}.ppm`,
    hash: String(i),
    label: i % 4,
    roi: null
  }))

  async function collect(
    table: Int32Array | null
  ): Promise<{ label: number; flipped: boolean; y: number }[]> {
    const source = createBatchSource({
      examples,
      preprocessing: prep,
      batchSize: 64,
      shuffle: true,
      augmentation: aug,
      mirror: table,
      seed: 3,
      decode: async () => img
    })
    const out: { label: number; flipped: boolean; y: number }[] = []
    for await (const batch of source.epoch(0)) {
      for (let k = 0; k < batch.size; k++) {
        const first = batch.x[k * W * W * 3]
        expect([0, 20 * (W - 1)]).toContain(first) // the top-left pixel: as is, or the top-right one
        out.push({ label: batch.examples[k].label, flipped: first !== 0, y: batch.y[k] })
      }
    }
    return out
  }

  it('mirrors about half of each mirrored class, relabels twins, and leaves the rest as they are', async () => {
    const seen = await collect(mirror)
    expect(seen).toHaveLength(400)
    for (const s of seen) {
      if (!s.flipped) expect(s.y).toBe(s.label)
      else expect(s.y).toBe(mirror[s.label])
    }
    const share = (label: number): number =>
      seen.filter((s) => s.label === label && s.flipped).length / seen.filter((s) => s.label === label).length
    for (const label of [0, 1, 2]) {
      expect(share(label)).toBeGreaterThan(0.3)
      expect(share(label)).toBeLessThan(0.7)
    }
    expect(share(3)).toBe(0)
  })

  it('mirrors nothing without a table', async () => {
    const seen = await collect(null)
    expect(seen.every((s) => !s.flipped && s.y === s.label)).toBe(true)
  })
})
