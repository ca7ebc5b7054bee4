// Test helpers: run the same inputs through a TF.js model and its ONNX export, and compare.
import { expect } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { exportOnnx, type OnnxExportOptions } from '../../../../src/main/ml/export/onnx'
import { OnnxRunner } from '../../../../src/main/ml/evaluate/onnxRuntime'

/** Deterministic pseudo-random values in [lo, hi). */
export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = lo + (s / 2 ** 32) * (hi - lo)
  }
  return out
}

export interface Parity {
  /** Largest |onnx - tf| over all outputs. */
  maxAbsDiff: number
  /** Largest |tf| (to show the comparison is not between near-zero tensors). */
  maxAbs: number
  /** Examples whose argmax differs, among those where TF's top two are more than 1e-5 apart. */
  argmaxMismatches: number
  /** Examples with a clear winner (top-two margin > 1e-5), i.e. those the argmax check covers. */
  decisive: number
  tfOut: Float32Array
  onnxOut: Float32Array
  outputSize: number
}

export function argmax(a: Float32Array, from: number, size: number): number {
  let best = from
  for (let i = from + 1; i < from + size; i++) if (a[i] > a[best]) best = i
  return best - from
}

/** Runs `x` (NHWC, batch first) through TF.js (`model`, or the layer named outputLayer) and ONNX. */
export async function compare(
  model: tf.LayersModel,
  x: tf.Tensor,
  opts: OnnxExportOptions = {},
  threads = 1
): Promise<Parity> {
  const reference = opts.outputLayer
    ? tf.model({
        inputs: model.inputs,
        outputs: model.getLayer(opts.outputLayer).output as tf.SymbolicTensor
      })
    : model
  const tfTensor = reference.predict(x) as tf.Tensor
  const tfOut = tfTensor.dataSync() as Float32Array
  tfTensor.dispose()
  const runner = await OnnxRunner.create(exportOnnx(model, opts), { threads })
  try {
    const batch = x.shape[0]
    const onnxOut = await runner.run(x.dataSync() as Float32Array, batch, x.shape.slice(1))
    if (onnxOut.length !== tfOut.length) throw new Error(`length ${onnxOut.length} vs ${tfOut.length}`)
    if (tfOut.some(Number.isNaN)) throw new Error('TF.js output has NaN: the test model diverged')
    if (onnxOut.some(Number.isNaN)) throw new Error('onnxruntime output has NaN where TF.js has none')
    let maxAbsDiff = 0
    let maxAbs = 0
    for (let i = 0; i < tfOut.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(onnxOut[i] - tfOut[i]))
      maxAbs = Math.max(maxAbs, Math.abs(tfOut[i]))
    }
    const size = runner.outputSize
    let argmaxMismatches = 0
    let decisive = 0
    for (let b = 0; b < batch; b++) {
      // A near-tie can flip on float rounding alone; those are covered by maxAbsDiff instead.
      const row = Array.from(tfOut.subarray(b * size, (b + 1) * size)).sort((u, v) => v - u)
      if (size > 1 && row[0] - row[1] <= 1e-5) continue
      decisive++
      if (argmax(tfOut, b * size, size) !== argmax(onnxOut, b * size, size)) argmaxMismatches++
    }
    return { maxAbsDiff, maxAbs, argmaxMismatches, decisive, tfOut, onnxOut, outputSize: size }
  } finally {
    await runner.dispose()
  }
}

/** Replaces every weight of `model` with seeded random values in [lo, hi) (moving variances in [0.5, 2)). */
export function randomiseWeights(model: tf.LayersModel, seed: number, lo = -0.5, hi = 0.5): void {
  let k = seed
  for (const layer of model.layers) {
    const ws = layer.getWeights()
    if (ws.length === 0) continue
    // originalName: `name` gets a _1 suffix when another model already used the layer name.
    const names = layer.weights.map((w) => w.originalName)
    layer.setWeights(
      ws.map((w, i) =>
        names[i].endsWith('moving_variance')
          ? tf.tensor(values(w.size, k++, 0.5, 2), w.shape)
          : tf.tensor(values(w.size, k++, lo, hi), w.shape)
      )
    )
  }
}

/** A sequential model fed by an explicit input layer, with random weights. */
export function chain(inputShape: number[], layers: tf.layers.Layer[], seed = 7): tf.Sequential {
  const m = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape }), ...layers] })
  randomiseWeights(m, seed)
  return m
}

export function input(shape: number[], seed = 1): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed
    ),
    shape
  )
}

export async function expectParity(model: tf.LayersModel, x: tf.Tensor, tol = 1e-4): Promise<void> {
  const p = await compare(model, x)
  expect(p.maxAbs).toBeGreaterThan(1e-3)
  expect(p.maxAbsDiff).toBeLessThan(tol)
  expect(p.argmaxMismatches).toBe(0)
}
