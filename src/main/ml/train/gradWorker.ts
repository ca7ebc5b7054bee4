// Entry of the gradient worker thread of data-parallel training (dataParallel.ts; built as
// out/main/gradWorker.js). TF.js wasm runs on one thread under Node, so the trainer splits each batch: this
// thread computes the gradients of one part on its own copy of the model while the trainer's thread computes
// the others; the trainer averages them and applies the step. Protocol (structured clone; x and y transferred,
// weights are views of one SharedArrayBuffer that the trainer writes once per step for every worker, grads
// views of this worker's own SharedArrayBuffer, which it fills and the trainer reads; both are kept for the run,
// so a step allocates no weight- or gradient-sized buffer on either side):
//   trainer -> worker  { type: 'init', backend, artifacts, numClasses, seed }
//                      { type: 'step', weights, grads, x, shape, y, step }  weights, grads: per trainable, in order
//   worker -> trainer  { type: 'ready' } | { type: 'grads', loss, acc } | { type: 'error', message }
import { parentPort } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import type { BackendName } from '../../../shared/training'
import { initBackend } from '../tfjs/backend'
import { registerCustomLayers } from '../layers'
import { batchGradients, dropoutLayers, reseedDropout } from './gradients'
import { float32Values, tensorFromValues } from '../tfjs/kernels/heapValues'

export type WorkerRequest =
  | {
      type: 'init'
      backend: BackendName
      artifacts: tf.io.ModelArtifacts
      numClasses: number
      seed: number
    }
  | {
      type: 'step'
      weights: Float32Array[]
      grads: Float32Array[]
      x: Float32Array
      shape: number[]
      y: Int32Array
      step: number
    }

export type WorkerReply =
  { type: 'ready' } | { type: 'grads'; loss: number; acc: number } | { type: 'error'; message: string }

let model: tf.LayersModel | null = null
let vars: tf.Variable[] = []
let dropouts: tf.layers.Layer[] = []
let numClasses = 0
let seed = 0

async function handle(msg: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  if (msg.type === 'init') {
    await initBackend({ prefer: msg.backend, logger: () => {} })
    registerCustomLayers()
    model = await tf.loadLayersModel(tf.io.fromMemory(msg.artifacts))
    vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
    dropouts = dropoutLayers(model)
    numClasses = msg.numClasses
    seed = msg.seed
    return { reply: { type: 'ready' }, transfer: [] }
  }
  if (!model) throw new Error('gradient worker: step before init')
  const m = model
  if (msg.weights.length !== vars.length || msg.grads.length !== vars.length)
    throw new Error(`gradient worker: ${msg.weights.length} weights for ${vars.length} variables`)
  // Copied onto this thread's heap first: with one worker, `grads` below are views of the same buffer.
  tf.tidy(() => msg.weights.forEach((w, i) => vars[i].assign(tensorFromValues(w, vars[i].shape))))
  reseedDropout(dropouts, seed, msg.step)
  const out = tf.tidy(() => {
    const x = tf.tensor(msg.x, msg.shape)
    const y = tf.tensor1d(msg.y, 'int32')
    const r = batchGradients(m, vars, x, y, numClasses)
    return { loss: r.loss, acc: r.acc, grads: vars.map((v) => r.grads[v.name]) }
  })
  // Straight from the wasm heap into the shared buffer: no gradient-sized copy in this thread's JS heap.
  out.grads.forEach((g, i) => msg.grads[i].set(float32Values(g)))
  const reply: WorkerReply = { type: 'grads', loss: out.loss.dataSync()[0], acc: out.acc.dataSync()[0] }
  tf.dispose([out.loss, out.acc, ...out.grads])
  return { reply, transfer: [] }
}

const port = parentPort
if (port) {
  // One message at a time, in order: the trainer waits for each reply before sending the next step.
  let chain = Promise.resolve()
  port.on('message', (msg: WorkerRequest) => {
    chain = chain.then(async () => {
      try {
        const { reply, transfer } = await handle(msg)
        port.postMessage(reply, transfer)
      } catch (err) {
        port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) })
      }
    })
  })
}
