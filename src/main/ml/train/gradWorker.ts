// Entry of the gradient worker thread of data-parallel training (dataParallel.ts; built as
// out/main/gradWorker.js). TF.js wasm runs on one thread under Node, so the trainer splits each batch: this
// thread computes the gradients of one part on its own copy of the model while the trainer's thread computes
// the others; the trainer averages them and applies the step. Protocol (structured clone; x and y transferred,
// weights are views of one SharedArrayBuffer that the trainer writes once per step for every worker):
//   trainer -> worker  { type: 'init', backend, artifacts, numClasses, seed }
//                      { type: 'step', weights, x, shape, y, step }     weights: trainable values, in order
//   worker -> trainer  { type: 'ready' } | { type: 'grads', grads, loss, acc } | { type: 'error', message }
import { parentPort } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import type { BackendName } from '../../../shared/training'
import { initBackend } from '../tfjs/backend'
import { registerCustomLayers } from '../layers'
import { batchGradients, dropoutLayers, reseedDropout } from './gradients'

export type WorkerRequest =
  | {
      type: 'init'
      backend: BackendName
      artifacts: tf.io.ModelArtifacts
      numClasses: number
      seed: number
    }
  | { type: 'step'; weights: Float32Array[]; x: Float32Array; shape: number[]; y: Int32Array; step: number }

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'grads'; grads: Float32Array[]; loss: number; acc: number }
  | { type: 'error'; message: string }

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
  if (msg.weights.length !== vars.length)
    throw new Error(`gradient worker: ${msg.weights.length} weights for ${vars.length} variables`)
  tf.tidy(() => msg.weights.forEach((w, i) => vars[i].assign(tf.tensor(w, vars[i].shape))))
  reseedDropout(dropouts, seed, msg.step)
  const out = tf.tidy(() => {
    const x = tf.tensor(msg.x, msg.shape)
    const y = tf.tensor1d(msg.y, 'int32')
    const r = batchGradients(m, vars, x, y, numClasses)
    return { loss: r.loss, acc: r.acc, grads: vars.map((v) => r.grads[v.name]) }
  })
  const grads = out.grads.map((g) => g.dataSync() as Float32Array)
  const reply: WorkerReply = {
    type: 'grads',
    grads: grads.map((g) => (g.byteOffset === 0 && g.byteLength === g.buffer.byteLength ? g : g.slice())),
    loss: out.loss.dataSync()[0],
    acc: out.acc.dataSync()[0]
  }
  tf.dispose([out.loss, out.acc, ...out.grads])
  return { reply, transfer: reply.grads.map((g) => g.buffer as ArrayBuffer) }
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
