// Data-parallel training on one machine: a gradient worker thread (gradWorker.ts) beside the trainer's own.
// TF.js wasm computes on one thread under Node; with a second thread each computing the gradients of half of
// every batch, a train step takes about half as long on two cores. Each step, the trainer sends the current
// trainable weights and the worker's part of the batch, computes its own part meanwhile, then averages the two
// gradients (weighted by part size: the losses are means) and applies them with its one optimizer. Batch
// norm normalises each part with that part's statistics (as PyTorch's DataParallel does without SyncBN).
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import type { BackendName } from '../../../shared/training'
import type { WorkerReply, WorkerRequest } from './gradWorker'
import { batchGradients, reseedDropout } from './gradients'

/**
 * How many threads a training run should use: `TS_TRAIN_THREADS` when set (1 = off), else 2 on wasm with at
 * least two cores (native backends are multi-threaded themselves, cpu is too slow to matter), else 1.
 */
export function trainThreads(
  backend: BackendName,
  env: Record<string, string | undefined> = process.env
): number {
  const forced = Number(env.TS_TRAIN_THREADS)
  if (Number.isInteger(forced) && forced >= 1) return Math.min(forced, 2)
  return backend === 'wasm' && availableParallelism() >= 2 ? 2 : 1
}

/**
 * The gradient worker's entry, given by the composition root: `join(__dirname, 'gradWorker.js')` in out/main,
 * or the .ts source with `['--import', 'jiti/register']` in tests. Passed down, never looked for.
 */
export interface WorkerEntry {
  file: string
  execArgv?: string[]
}

/**
 * The values of `v` in an array of their own that may be transferred to the worker. The wasm backend's
 * dataSync already returns a fresh copy (a slice of its heap), so it is sent as is: for the full AlexNet that
 * saves one 228 MB copy per step. Other backends may hand out the tensor's own storage (the cpu backend does),
 * which a transfer would detach, so there it is copied.
 */
function transferableCopy(v: tf.Variable): Float32Array {
  const values = v.dataSync() as Float32Array
  return tf.getBackend() === 'wasm' ? values : values.slice()
}

export class GradientWorker {
  private pending: { resolve(r: WorkerReply): void; reject(e: Error): void } | null = null
  private failure: Error | null = null

  private constructor(private readonly worker: Worker) {
    worker.on('message', (r: WorkerReply) => {
      const p = this.pending
      this.pending = null
      if (!p) return
      if (r.type === 'error') p.reject(new Error(`gradient worker: ${r.message}`))
      else p.resolve(r)
    })
    worker.on('error', (e) => this.fail(e))
    worker.on('exit', (code) => this.fail(new Error(`gradient worker exited (code ${code})`)))
  }

  private fail(e: Error): void {
    this.failure ??= e
    const p = this.pending
    this.pending = null
    p?.reject(e)
  }

  /**
   * Starts a worker with a copy of `model` (topology and all weights), or returns null without an entry
   * (then the trainer runs on one thread).
   */
  static async start(
    model: tf.LayersModel,
    opts: { backend: BackendName; numClasses: number; seed: number; entry?: WorkerEntry }
  ): Promise<GradientWorker | null> {
    const entry = opts.entry
    if (!entry) return null
    let artifacts: tf.io.ModelArtifacts | null = null
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      })
    )
    const w = new GradientWorker(new Worker(entry.file, { execArgv: entry.execArgv ?? [] }))
    try {
      await w.request({
        type: 'init',
        backend: opts.backend,
        artifacts: artifacts!,
        numClasses: opts.numClasses,
        seed: opts.seed
      })
    } catch (err) {
      await w.close()
      throw err
    }
    return w
  }

  private request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.pending) return Promise.reject(new Error('gradient worker: a request is already pending'))
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      this.worker.postMessage(msg, transfer)
    })
  }

  /** Sends a step; the reply resolves later, so call this before computing the trainer's own part. */
  private step(
    weights: Float32Array[],
    x: Float32Array,
    shape: number[],
    y: Int32Array,
    step: number
  ): Promise<{ grads: Float32Array[]; loss: number; acc: number }> {
    const transfer = [
      ...weights.map((w) => w.buffer as ArrayBuffer),
      x.buffer as ArrayBuffer,
      y.buffer as ArrayBuffer
    ]
    return this.request({ type: 'step', weights, x, shape, y, step }, transfer).then((r) => {
      if (r.type !== 'grads') throw new Error(`gradient worker: unexpected reply ${r.type}`)
      return r
    })
  }

  /**
   * The gradient of a whole batch, computed in two parts: the worker takes the first half (with the model's
   * current trainable weights), this thread the rest meanwhile; the parts are averaged by size (the losses are
   * means). Dropout masks are drawn per part from the run's seed and the step (parts 2*step and 2*step+1),
   * so a run repeats exactly. The caller owns the returned gradients (keyed by variable name).
   */
  async gradients(
    model: tf.LayersModel,
    vars: tf.Variable[],
    b: { x: Float32Array; y: Int32Array; size: number },
    inputShape: number[],
    numClasses: number,
    dropout: { layers: tf.layers.Layer[]; seed: number; step: number }
  ): Promise<{ loss: number; acc: number; grads: tf.NamedTensorMap }> {
    const len = inputShape.reduce((a, c) => a * c, 1)
    const nWorker = Math.floor(b.size / 2)
    const nLocal = b.size - nWorker
    const remote = this.step(
      vars.map((v) => transferableCopy(v)),
      b.x.slice(0, nWorker * len),
      [nWorker, ...inputShape],
      b.y.slice(0, nWorker),
      dropout.step * 2 + 1
    )
    reseedDropout(dropout.layers, dropout.seed, dropout.step * 2)
    const local = tf.tidy(() => {
      const x = tf.tensor(b.x.subarray(nWorker * len, b.size * len), [nLocal, ...inputShape])
      const y = tf.tensor1d(b.y.subarray(nWorker, b.size), 'int32')
      const r = batchGradients(model, vars, x, y, numClasses)
      return { loss: r.loss, acc: r.acc, grads: vars.map((v) => r.grads[v.name]) }
    })
    let theirs: { grads: Float32Array[]; loss: number; acc: number }
    try {
      theirs = await remote
    } catch (err) {
      tf.dispose([local.loss, local.acc, ...local.grads])
      throw err
    }
    const wl = nLocal / b.size
    const ww = nWorker / b.size
    const grads: tf.NamedTensorMap = {}
    tf.tidy(() => {
      vars.forEach((v, i) => {
        grads[v.name] = tf.keep(
          tf.add(tf.mul(local.grads[i], wl), tf.mul(tf.tensor(theirs.grads[i], v.shape), ww))
        )
      })
    })
    const loss = local.loss.dataSync()[0]
    const acc = local.acc.dataSync()[0]
    tf.dispose([local.loss, local.acc, ...local.grads])
    return { loss: loss * wl + theirs.loss * ww, acc: acc * wl + theirs.acc * ww, grads }
  }

  async close(): Promise<void> {
    this.failure ??= new Error('gradient worker closed')
    await this.worker.terminate()
  }
}
