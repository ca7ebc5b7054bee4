// Full-size read of a bvlc-alexnet.npy (233 MB), opt-in because it needs the file and ~0.5 GB of memory:
//   python3 scripts/make-bvlc-fixtures.py --big /tmp/bvlc-big
//   TS_BVLC_FILE=/tmp/bvlc-big/bvlc-alexnet-synthetic.npy npx vitest run test/main/ml/weights/bvlc-big.test.ts
// TS_BVLC_FILE may also point at the real file; values are then checked only when a summary JSON
// (written by the script beside the synthetic file) exists.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ALEXNET_BVLC_SHAPES, checkBvlcShapes, readBvlcWeights } from '../../../../src/main/ml/weights/bvlc'

const FILE = process.env.TS_BVLC_FILE

describe.skipIf(!FILE)('readBvlcWeights on a full-size file', () => {
  it('reads all eight layers with the AlexNet shapes', async () => {
    const path = FILE as string
    const t0 = performance.now()
    const w = await readBvlcWeights(path)
    const ms = performance.now() - t0
    const mb = statSync(path).size / 1e6
    console.log(`read ${mb.toFixed(1)} MB in ${ms.toFixed(0)} ms (${((mb / ms) * 1000).toFixed(0)} MB/s)`)
    expect(checkBvlcShapes(w, ALEXNET_BVLC_SHAPES)).toEqual({ warnings: [] })
    const summary = path.replace(/\.npy$/, '.json')
    if (existsSync(summary)) {
      const want = JSON.parse(readFileSync(summary, 'utf8')) as Record<
        string,
        Record<'W' | 'b', { first: number[]; last: number; sum: number }>
      >
      for (const [name, layer] of Object.entries(want)) {
        for (const part of ['W', 'b'] as const) {
          const data = w[name][part].data
          expect(Array.from(data.subarray(0, 6)), `${name} ${part}`).toEqual(layer[part].first)
          expect(data[data.length - 1]).toBe(layer[part].last)
          let sum = 0
          for (const v of data) sum += v
          expect(Math.abs(sum - layer[part].sum)).toBeLessThan(1e-6 * Math.max(1, Math.abs(layer[part].sum)))
        }
      }
    }
  })
})
