// The math of one training step, shared by the trainer and its gradient worker (dataParallel.ts): the
// loss, the gradients of a batch, and the per-step dropout seeds.
import * as tf from '@tensorflow/tfjs'
import { withoutInputGradient } from '../tfjs/kernels/wasmKernels'

/** Mean cross-entropy and accuracy of probabilities `p` [n, k] against integer labels `y` [n]. */
export function lossAndAccuracy(
  p: tf.Tensor,
  y: tf.Tensor1D,
  numClasses: number
): { loss: tf.Scalar; acc: tf.Scalar } {
  const oneHot = tf.oneHot(y, numClasses)
  const picked = tf.sum(tf.mul(p, oneHot), 1)
  const loss = tf.neg(tf.mean(tf.log(tf.clipByValue(picked, 1e-7, 1))))
  const acc = tf.mean(tf.cast(tf.equal(tf.argMax(p, 1), y), 'float32'))
  return { loss: loss as tf.Scalar, acc: acc as tf.Scalar }
}

/**
 * Loss, accuracy and the gradient of every variable in `vars` for one batch, computed in training mode.
 * Call inside tf.tidy: the returned tensors are the caller's.
 */
export function batchGradients(
  model: tf.LayersModel,
  vars: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor1D,
  numClasses: number
): { loss: tf.Scalar; acc: tf.Scalar; grads: tf.NamedTensorMap } {
  let acc: tf.Scalar | null = null
  const { value, grads } = withoutInputGradient(inputConvFilters(model), () =>
    tf.variableGrads(() => {
      const p = model.apply(x, { training: true }) as tf.Tensor
      const r = lossAndAccuracy(p, y, numClasses)
      acc = tf.keep(r.acc)
      return r.loss
    }, vars)
  )
  return { loss: value, acc: acc!, grads }
}

/** The kernels of the model's Conv2D layers that read the model's input directly (the batch, no gradient). */
function inputConvFilters(model: tf.LayersModel): tf.Tensor[] {
  const inputs = new Set<unknown>(model.inputs)
  return model.layers
    .filter((l) => l.getClassName() === 'Conv2D' && inputs.has(l.input))
    .map((l) => (l as unknown as { kernel?: { read(): tf.Tensor } }).kernel?.read())
    .filter((k): k is tf.Tensor => k !== undefined)
}

/** The model's Dropout layers, nested models included. */
export function dropoutLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const found: tf.layers.Layer[] = []
  const visit = (layers: tf.layers.Layer[]): void => {
    for (const l of layers) {
      if (l.getClassName() === 'Dropout') found.push(l)
      else if (l instanceof tf.LayersModel) visit(l.layers)
    }
  }
  visit(model.layers)
  return found
}

/**
 * Gives each Dropout layer a seed derived from the run's seed, the step and the layer's place, read by
 * tfjs at call time. A fixed seed would draw the same mask at every step (tfjs reseeds per call), and no
 * seed draws from Math.random, so a run could not be repeated; this draws a new mask per step, reproducibly.
 * `step` is any integer unique to the (step, batch part): the data-parallel trainer gives each part its own.
 */
export function reseedDropout(layers: tf.layers.Layer[], seed: number, step: number): void {
  layers.forEach((l, i) => {
    ;(l as unknown as { seed?: number }).seed = (((seed * 1_000_003 + step) * 31 + i) >>> 0) + 1
  })
}

/**
 * Summed cross-entropy and number of correct predictions of class probabilities `p` ([n, k], row-major, as
 * an ONNX session returns them) against labels `y`: the same loss as lossAndAccuracy (probabilities clipped
 * to [1e-7, 1]), and the first maximum as the prediction, as tf.argMax picks it.
 */
export function scoreProbabilities(
  p: Float32Array,
  y: Int32Array,
  n: number,
  k: number
): { lossSum: number; correct: number } {
  let lossSum = 0
  let correct = 0
  for (let i = 0; i < n; i++) {
    const row = i * k
    let best = 0
    for (let j = 1; j < k; j++) if (p[row + j] > p[row + best]) best = j
    if (best === y[i]) correct++
    lossSum -= Math.log(Math.min(1, Math.max(1e-7, p[row + y[i]])))
  }
  return { lossSum, correct }
}
