// Reading bvlc-alexnet.npy-style files: the Python 2 layout of the real file, what Python 3 numpy
// writes, other dtypes and orders, and every way a file can be wrong.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ALEXNET_BVLC_SHAPES,
  BvlcWeightsError,
  checkBvlcShapes,
  parseBvlcWeights,
  readBvlcWeights,
  type BvlcShapes,
  type BvlcWeights
} from '../../../../src/main/ml/weights/bvlc'
import { tempDir } from '../../../helpers'

const FIXTURES = resolve(__dirname, '../../../fixtures/bvlc')
const fixture = (name: string): string => join(FIXTURES, name)

interface Summary {
  shape: number[]
  first: number[]
  last: number
  sum: number
  sumAbs: number
}
type Expected = Record<string, Record<string, { W: Summary; b: Summary }>>
const EXPECTED = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Expected

function shapesOf(file: string): BvlcShapes {
  const out: BvlcShapes = {}
  for (const [name, l] of Object.entries(EXPECTED[file])) out[name] = { W: l.W.shape, b: l.b.shape }
  return out
}

function expectMatches(weights: BvlcWeights, file: string): void {
  const want = EXPECTED[file]
  expect(Object.keys(weights).sort()).toEqual(Object.keys(want).sort())
  for (const [name, layer] of Object.entries(want)) {
    for (const part of ['W', 'b'] as const) {
      const got = weights[name][part]
      const exp = layer[part]
      expect(got.shape, `${name} ${part}`).toEqual(exp.shape)
      expect(got.data.length).toBe(exp.shape.reduce((a, b) => a * b, 1))
      // float32 -> float64 is exact, so leading and trailing values must be equal, not close.
      expect(Array.from(got.data.subarray(0, exp.first.length)), `${name} ${part}`).toEqual(exp.first)
      expect(got.data[got.data.length - 1]).toBe(exp.last)
      let sum = 0
      let sumAbs = 0
      for (const v of got.data) {
        sum += v
        sumAbs += Math.abs(v)
      }
      expect(sum).toBeCloseTo(exp.sum, 9)
      expect(sumAbs).toBeCloseTo(exp.sumAbs, 9)
    }
  }
}

describe('readBvlcWeights', () => {
  it('reads the Python 2 protocol-2 layout of the real file with exact values', async () => {
    const w = await readBvlcWeights(fixture('tiny-py2.npy'))
    expectMatches(w, 'tiny-py2.npy')
    expect(checkBvlcShapes(w, shapesOf('tiny-py2.npy'))).toEqual({ warnings: [] })
    expect(w.conv1.W.shape).toEqual([3, 3, 3, 4])
  })

  it('reads the Python 2 layout with column-major (is_fortran) weights', async () => {
    const w = await readBvlcWeights(fixture('tiny-py2-fortran.npy'))
    expectMatches(w, 'tiny-py2-fortran.npy')
    const c = await readBvlcWeights(fixture('tiny-py2.npy'))
    expect(w.conv3.W.data).toEqual(c.conv3.W.data)
    expect(w.fc6.W.data).toEqual(c.fc6.W.data)
  })

  it('reads what numpy 2 on Python 3 writes (protocol 4, numpy._core)', async () => {
    expectMatches(await readBvlcWeights(fixture('tiny-py3.npy')), 'tiny-py3.npy')
  })

  it('reads Python 3 protocol 2 (bytes as _codecs.encode)', async () => {
    expectMatches(await readBvlcWeights(fixture('tiny-py3-proto2.npy')), 'tiny-py3-proto2.npy')
  })

  it('reads Python 3 protocol 5 (arrays as numpy._core.numeric._frombuffer)', async () => {
    expectMatches(await readBvlcWeights(fixture('tiny-py3-proto5.npy')), 'tiny-py3-proto5.npy')
  })

  it('gives the same values for all layouts', async () => {
    const a = await readBvlcWeights(fixture('tiny-py2.npy'))
    for (const other of ['tiny-py3.npy', 'tiny-py3-proto2.npy', 'tiny-py3-proto5.npy']) {
      const b = await readBvlcWeights(fixture(other))
      for (const name of Object.keys(a)) {
        expect(b[name].W.data, `${other} ${name}`).toEqual(a[name].W.data)
        expect(b[name].b.data, `${other} ${name}`).toEqual(a[name].b.data)
      }
    }
  })

  it('converts float64, big-endian, Fortran-ordered and float16 arrays to C-ordered float32', async () => {
    expectMatches(await readBvlcWeights(fixture('variants.npy')), 'variants.npy')
    expectMatches(await readBvlcWeights(fixture('variants-proto5.npy')), 'variants-proto5.npy')
  })

  it('returns copies that do not alias each other', async () => {
    const w = await readBvlcWeights(fixture('tiny-py2.npy'))
    const before = w.conv2.W.data[0]
    w.conv1.W.data.fill(7)
    expect(w.conv2.W.data[0]).toBe(before)
    expect(w.conv1.W.data.byteOffset).toBe(0)
  })

  it('leaves skipped layers out', async () => {
    const w = await readBvlcWeights(fixture('tiny-py2.npy'), { skip: ['fc8'] })
    expect(Object.keys(w).sort()).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7'])
    expect(checkBvlcShapes(w, shapesOf('tiny-py2.npy'), { skip: ['fc8'] })).toEqual({ warnings: [] })
    expect(() => checkBvlcShapes(w, shapesOf('tiny-py2.npy'))).toThrow(/layer 'fc8' is missing/)
  })

  it('refuses a pickle that names os.system, and runs nothing', async () => {
    const err = await readBvlcWeights(fixture('malicious-os-system.npy')).catch((e: Error) => e)
    expect(err).toBeInstanceOf(BvlcWeightsError)
    expect((err as Error).message).toMatch(/malicious-os-system\.npy: .*'os\.system'.*may be malicious/)
    expect(existsSync('/tmp/bvlc-pwned')).toBe(false)
  })

  it('rejects integer weights, values that are not [W, b], and files that are not a dict', async () => {
    await expect(readBvlcWeights(fixture('int-dtype.npy'))).rejects.toThrow(
      /layer 'conv1' W: unsupported dtype <i4; weights must be float32/
    )
    await expect(readBvlcWeights(fixture('not-pairs.npy'))).rejects.toThrow(
      /layer 'conv1': expected \[W, b\] \(a list of two numpy arrays\), found ndarray <f4 shape \(3, 3, 3, 4\)/
    )
    await expect(readBvlcWeights(fixture('list-top.npy'))).rejects.toThrow(
      /expected a dict of layers .* found ndarray \|O8 shape \(2\)/
    )
    await expect(readBvlcWeights(fixture('plain-f4.npy'))).rejects.toThrow(
      /holds a single <f4 array of shape \(3, 4\), not a dict of layers/
    )
  })

  describe('files that are not NPY', () => {
    let tmp: ReturnType<typeof tempDir>
    beforeEach(() => (tmp = tempDir('bvlc-')))
    afterEach(() => tmp.remove())

    it('names the problem', async () => {
      const text = join(tmp.dir, 'weights.npy')
      writeFileSync(text, 'hello, I am a text file\n')
      await expect(readBvlcWeights(text)).rejects.toThrow(
        /weights\.npy: not an NPY file: it does not start with/
      )
      const zip = join(tmp.dir, 'weights.npz')
      writeFileSync(zip, Buffer.from('PK\x03\x04rest of a zip', 'latin1'))
      await expect(readBvlcWeights(zip)).rejects.toThrow(/ZIP archive \(an \.npz file\?\)/)
      const empty = join(tmp.dir, 'empty.npy')
      writeFileSync(empty, '')
      await expect(readBvlcWeights(empty)).rejects.toThrow(/not an NPY file: the file is empty/)
      await expect(readBvlcWeights(join(tmp.dir, 'absent.npy'))).rejects.toThrow(
        /cannot read weights file .*absent\.npy: ENOENT/
      )
    })

    it('says the file is truncated, in the header, the pickle or the array data', async () => {
      const buf = readFileSync(fixture('tiny-py2.npy'))
      // 8: inside the header length; 40: inside the header dict; 100: pickle opcodes; 600: inside
      // conv3's BINSTRING array data; length-1: just before STOP.
      for (const cut of [8, 40, 100, 600, buf.length - 1]) {
        const p = join(tmp.dir, `cut-${cut}.npy`)
        writeFileSync(p, buf.subarray(0, cut))
        await expect(readBvlcWeights(p), `cut at ${cut}`).rejects.toThrow(/truncated file/)
      }
    })
  })

  it.each([
    'tiny-py2.npy',
    'tiny-py2-fortran.npy',
    'tiny-py3.npy',
    'tiny-py3-proto2.npy',
    'tiny-py3-proto5.npy'
  ])('reports truncation of %s at every possible length', (name) => {
    const buf = readFileSync(fixture(name))
    expect(Object.keys(parseBvlcWeights(buf)).length).toBe(8)
    const wrong: string[] = []
    for (let cut = 0; cut < buf.length; cut++) {
      let err: unknown
      try {
        parseBvlcWeights(buf.subarray(0, cut))
      } catch (e) {
        err = e
      }
      const msg = err instanceof BvlcWeightsError ? err.message : `no BvlcWeightsError: ${String(err)}`
      const ok = cut < 6 ? /not an NPY file|truncated file/ : /truncated file/
      if (!ok.test(msg)) wrong.push(`cut at ${cut}: ${msg}`)
    }
    expect(wrong).toEqual([])
  })
})

describe('checkBvlcShapes', () => {
  const tiny = (): Promise<BvlcWeights> => readBvlcWeights(fixture('tiny-py2.npy'))

  it('accepts the full AlexNet shapes table only for full-size weights', async () => {
    expect(Object.keys(ALEXNET_BVLC_SHAPES)).toEqual([
      'conv1',
      'conv2',
      'conv3',
      'conv4',
      'conv5',
      'fc6',
      'fc7',
      'fc8'
    ])
    const w = await tiny()
    let msg = ''
    try {
      checkBvlcShapes(w, ALEXNET_BVLC_SHAPES)
    } catch (e) {
      msg = (e as Error).message
    }
    expect(msg).toContain("layer 'conv1' W: expected shape (11, 11, 3, 96), found (3, 3, 3, 4)")
    expect(msg).toContain("layer 'conv1' b: expected shape (96,), found (4,)")
    expect(msg).toContain("layer 'fc8' W: expected shape (4096, 1000), found (10, 5)")
  })

  it('names a missing layer, an extra layer and a wrong shape together', async () => {
    const w = await tiny()
    delete w.conv3
    const expected = { ...shapesOf('tiny-py2.npy'), conv2: { W: [3, 3, 4, 6], b: [6] } }
    delete (expected as Partial<BvlcShapes>).fc7
    expect(() => checkBvlcShapes(w, expected)).toThrow(BvlcWeightsError)
    let msg = ''
    try {
      checkBvlcShapes(w, expected)
    } catch (e) {
      msg = (e as Error).message
    }
    expect(msg).toMatch(/layer 'conv3' is missing \(the file has: .*conv1.*\)/)
    expect(msg).toContain("layer 'fc7' is in the weights file but not in the model")
    expect(msg).toContain("layer 'conv2' W: expected shape (3, 3, 4, 6), found (3, 3, 2, 6)")
    expect(msg).not.toContain("'conv1'")
  })

  it('warns about a skipped layer the file still has', async () => {
    const w = await tiny()
    const expected = shapesOf('tiny-py2.npy')
    expected.fc8 = { W: [10, 43], b: [43] }
    expect(() => checkBvlcShapes(w, expected)).toThrow(
      /layer 'fc8' W: expected shape \(10, 43\), found \(10, 5\)/
    )
    expect(checkBvlcShapes(w, expected, { skip: ['fc8'] })).toEqual({
      warnings: ["layer 'fc8' from the weights file is not used (skipped)"]
    })
  })
})
