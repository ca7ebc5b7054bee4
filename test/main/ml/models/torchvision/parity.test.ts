// The TF.js ports against PyTorch itself: scripts/torchvision-parity.py builds each torchvision model with
// random weights and random batch-norm statistics and runs 4 real GTSRB test images through it; here the
// same state dict goes through torchvisionFromStateDict on the project's wasm backend, and the features
// (input of the last Linear) and logits must agree. Needs a python3 with torch and torchvision (skipped
// without one on a developer's machine, an error under CI) and the shared GTSRB data.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../../src/main/ml/tfjs/backend'
import {
  TORCHVISION_ARCHS,
  TORCHVISION_PARAMS,
  TORCHVISION_PREPROCESSING,
  torchvisionFromStateDict,
  type TorchStateDict
} from '../../../../../src/main/ml/models/torchvision'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../../../helpers'
import {
  centreRows,
  compareRows,
  readF32,
  readReference,
  readStateDict,
  runParityScript,
  torchPython
} from './reference'

const IMAGES = 4
const SIZE = TORCHVISION_PREPROCESSING.inputSize

const python = torchPython()
const skip = !python
  ? 'no python3 with torch and torchvision (install python3-torch and python3-torchvision, or set TS_PYTHON)'
  : !sharedDataAvailable()
    ? `the shared GTSRB data is missing (${SHARED_DATA})`
    : null

const fmt = (shape: number[]) => `[${shape.join(', ')}]`
/** Values in `weights` (their shapes are fully defined). */
const count = (weights: tf.LayerVariable[]): number =>
  weights.reduce((s, w) => s + tf.util.sizeFromShape(w.shape as number[]), 0)

/** Features and logits of one forward pass (the two models share every layer). */
async function forward(
  model: tf.LayersModel,
  featureModel: tf.LayersModel,
  x: tf.Tensor
): Promise<{ features: Float32Array; logits: Float32Array }> {
  const both = tf.model({ inputs: model.inputs, outputs: [featureModel.outputs[0], model.outputs[0]] })
  const [f, l] = both.predict(x) as tf.Tensor[]
  const out = { features: (await f.data()) as Float32Array, logits: (await l.data()) as Float32Array }
  tf.dispose([f, l])
  return out
}

function without(sd: TorchStateDict, name: string): TorchStateDict {
  const copy = new Map(sd)
  copy.delete(name)
  return copy
}

describe.skipIf(skip !== null)('torchvision parity with PyTorch (wasm backend)', () => {
  // Made in beforeAll: a folder made while collecting would outlive a filtered or skipped run.
  let tmp: { dir: string; remove: () => void }
  let input: tf.Tensor4D

  beforeAll(async () => {
    tmp = tempDir('ts-torchvision-')
    await initBackend({ prefer: 'wasm', logger: () => {} })
    const started = performance.now()
    const stdout = await runParityScript(python!, tmp.dir, TORCHVISION_ARCHS, IMAGES)
    console.log(`PyTorch reference in ${((performance.now() - started) / 1000).toFixed(1)} s\n${stdout}`)
    input = tf.tensor4d(readF32(join(tmp.dir, 'input.bin')), [IMAGES, SIZE, SIZE, 3])
  }, 600_000)

  afterAll(() => {
    input?.dispose()
    tmp?.remove()
  })

  it('the input is tf.image.resizeBilinear (half-pixel centres) of the 32 px images, then ImageNet mean/std', () => {
    const raw = readFileSync(join(tmp.dir, 'raw.bin'))
    const ours = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(raw), [IMAGES, 32, 32, 3]).mul(TORCHVISION_PREPROCESSING.scale)
      const resized = tf.image.resizeBilinear(x as tf.Tensor4D, [SIZE, SIZE], false, true)
      return resized
        .sub(tf.tensor1d([...TORCHVISION_PREPROCESSING.mean]))
        .div(tf.tensor1d([...TORCHVISION_PREPROCESSING.std]))
    })
    expect(tf.max(tf.abs(tf.sub(ours, input))).dataSync()[0]).toBeLessThan(1e-5)
    ours.dispose()
  })

  it.each(TORCHVISION_ARCHS)(
    '%s: same features and top-1 as PyTorch; bad state dicts refused',
    async (arch) => {
      const dir = join(tmp.dir, arch)
      const sd = readStateDict(dir)
      const ref = readReference(dir)

      // Refusals come before any TF.js work and name the tensor.
      const names = [...sd.keys()]
      const middle = names[Math.floor(names.length / 2)]
      expect(() => torchvisionFromStateDict(arch, without(sd, middle))).toThrow(`missing tensor '${middle}'`)
      const [name4d, t4d] = [...sd].find(([, t]) => t.shape.length === 4 && t.shape[0] !== t.shape[1])!
      const swapped = new Map(sd).set(name4d, {
        shape: [t4d.shape[1], t4d.shape[0], ...t4d.shape.slice(2)],
        data: t4d.data
      })
      expect(() => torchvisionFromStateDict(arch, swapped)).toThrow(
        `tensor '${name4d}' has shape ${fmt(swapped.get(name4d)!.shape)}, expected ${fmt(t4d.shape)}`
      )
      const extra = new Map(sd).set('classifier.extra.weight', { shape: [1], data: new Float32Array(1) })
      expect(() => torchvisionFromStateDict(arch, extra)).toThrow(
        "unexpected tensor 'classifier.extra.weight'"
      )

      const t0 = performance.now()
      const m = torchvisionFromStateDict(arch, sd, { softmax: false })
      const t1 = performance.now()
      try {
        expect(m.headLoaded).toBe(true)
        expect(count(m.model.trainableWeights)).toBe(TORCHVISION_PARAMS[arch])
        expect(ref.params).toBe(TORCHVISION_PARAMS[arch])
        expect(ref.featuresShape).toEqual([IMAGES, m.featureDim])
        const { features, logits } = await forward(m.model, m.featureModel, input)
        const t2 = performance.now()
        const f = compareRows(features, ref.features, m.featureDim)
        const l = compareRows(logits, ref.logits, m.numClasses)
        // The image-dependent part of the features (minus the batch mean): random nets put most of their
        // features' norm in a component all images share.
        const c = compareRows(
          centreRows(features, m.featureDim),
          centreRows(ref.features, m.featureDim),
          m.featureDim
        )
        console.log(
          `${arch}: features min cosine ${Math.min(...f.cosine).toFixed(7)}, max rel diff ` +
            `${Math.max(...f.relMaxDiff).toExponential(2)}; centred min cosine ${Math.min(...c.cosine).toFixed(7)}; ` +
            `logits max rel diff ${Math.max(...l.relMaxDiff).toExponential(2)}, top-1 ` +
            `${l.sameTop1.filter(Boolean).length}/${IMAGES}; build ${(t1 - t0).toFixed(0)} ms, forward ` +
            `${IMAGES} images ${(t2 - t1).toFixed(0)} ms (PyTorch: build + forward + write ${ref.seconds} s)`
        )
        for (let i = 0; i < IMAGES; i++) {
          expect(f.cosine[i], `features cosine, image ${i}`).toBeGreaterThanOrEqual(0.9999)
          expect(f.relMaxDiff[i], `features rel diff, image ${i}`).toBeLessThanOrEqual(1e-3)
          expect(c.cosine[i], `centred features cosine, image ${i}`).toBeGreaterThanOrEqual(0.999)
          expect(l.sameTop1[i], `top-1, image ${i}`).toBe(true)
          expect(l.relMaxDiff[i], `logits rel diff, image ${i}`).toBeLessThanOrEqual(1e-3)
        }
      } finally {
        m.dispose()
      }
    }
  )

  it('a different class count gets a fresh head and keeps the loaded features', async () => {
    const dir = join(tmp.dir, 'mobilenet_v3_small')
    const ref = readReference(dir)
    const m = torchvisionFromStateDict('mobilenet_v3_small', readStateDict(dir), { numClasses: 43, seed: 1 })
    try {
      expect(m.headLoaded).toBe(false)
      expect(m.model.outputs[0].shape).toEqual([null, 43])
      const { features, logits } = await forward(m.model, m.featureModel, input)
      const f = compareRows(features, ref.features, m.featureDim)
      for (const cos of f.cosine) expect(cos).toBeGreaterThanOrEqual(0.9999)
      for (let i = 0; i < IMAGES; i++) {
        const p = logits.subarray(i * 43, (i + 1) * 43).reduce((a, b) => a + b, 0)
        expect(p).toBeCloseTo(1, 5) // softmax by default
      }
    } finally {
      m.dispose()
    }
  })
})

if (skip)
  describe('torchvision parity with PyTorch (wasm backend)', () => it.skip(`skipped: ${skip}`, () => {}))

describe('torchPython', () => {
  it('is null without a usable interpreter, and an error under CI', () => {
    expect(torchPython({}, ['/nonexistent/python3'])).toBeNull()
    expect(() => torchPython({ CI: 'true' }, ['/nonexistent/python3'])).toThrow(/CI needs one/)
  })
})
