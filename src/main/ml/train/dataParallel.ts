// Data-parallel training on one machine: gradient worker threads (gradWorker.ts) beside the trainer's own.
// TF.js wasm computes on one thread under Node; with N threads each computing the gradients of 1/N of every
// batch, a train step takes about 1/N as long on N cores. Each step the trainer writes the current trainable
// weights ONCE into a SharedArrayBuffer that every worker reads (one copy into each worker's wasm heap, none
// per message), sends each worker its part of the batch, computes its own part meanwhile, then averages the
// gradients (weighted by part size: the losses are means) and applies them with its one optimizer. Each worker
// writes its gradients into a SharedArrayBuffer of its own (a lone worker: the weights' one), also kept for the
// run, and the average is taken in place there, one variable at a time: the earlier tfjs formulation kept every
// variable's weighted copies alive at once (4 model-sized buffers on a full AlexNet with one worker, on top of
// the step's own). Batch norm normalises each part with that part's statistics (as PyTorch's DataParallel does
// without SyncBN).
import { Worker } from 'node:worker_threads'
import type { BackendName } from '../../../shared/training'
import * as tf from '@tensorflow/tfjs'
import type { WorkerReply, WorkerRequest } from './gradWorker'
import { batchGradients, reseedDropout } from './gradients'
import { float32Values, tensorFromValues } from '../tfjs/kernels/heapValues'

/**
 * The gradient worker's entry, given by the composition root: `join(__dirname, 'gradWorker.js')` in out/main,
 * or the .ts source with `['--import', 'jiti/register']` in tests. Passed down, never looked for.
 */
export interface WorkerEntry {
  file: string
  execArgv?: string[]
}

/** One worker thread and its one pending request. */
class WorkerLink {
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

  /** Starts a worker with a copy of the model (`artifacts`: topology and all weights). */
  static async start(
    artifacts: tf.io.ModelArtifacts,
    opts: { backend: BackendName; numClasses: number; seed: number; entry: WorkerEntry }
  ): Promise<WorkerLink> {
    const w = new WorkerLink(new Worker(opts.entry.file, { execArgv: opts.entry.execArgv ?? [] }))
    try {
      await w.request({
        type: 'init',
        backend: opts.backend,
        artifacts,
        numClasses: opts.numClasses,
        seed: opts.seed
      })
    } catch (err) {
      await w.close()
      throw err
    }
    return w
  }

  request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.pending) return Promise.reject(new Error('gradient worker: a request is already pending'))
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      this.worker.postMessage(msg, transfer)
    })
  }

  /**
   * Sends a step; the reply resolves later, so call this before computing the trainer's own part. `weights`
   * are views of the pool's SharedArrayBuffer and `grads` of this worker's (shared, not copied; the worker
   * fills `grads`); x and y are this worker's own, transferred.
   */
  step(
    weights: Float32Array[],
    grads: Float32Array[],
    x: Float32Array,
    shape: number[],
    y: Int32Array,
    step: number
  ): Promise<{ loss: number; acc: number }> {
    return this.request({ type: 'step', weights, grads, x, shape, y, step }, [
      x.buffer as ArrayBuffer,
      y.buffer as ArrayBuffer
    ]).then((r) => {
      if (r.type !== 'grads') throw new Error(`gradient worker: unexpected reply ${r.type}`)
      return r
    })
  }

  async close(): Promise<void> {
    this.failure ??= new Error('gradient worker closed')
    await this.worker.terminate()
  }
}

/**
 * The trainer's gradient workers: `threads - 1` of them, the trainer's thread being the last. The name stays
 * from when there was one worker; `threads` says how many threads a step uses.
 */
export class GradientWorker {
  private shared: { buffer: SharedArrayBuffer; views: Float32Array[] } | null = null
  /** Per worker, the buffer it writes its gradients into (views per variable); made on the first step. */
  private gradBuffers: Float32Array[][] = []

  private constructor(private readonly links: WorkerLink[]) {}

  /** Threads a step runs on: the workers and the trainer's own. */
  get threads(): number {
    return this.links.length + 1
  }

  /**
   * Starts `threads - 1` workers (default 1), each with a copy of `model` (topology and all weights), or
   * returns null without an entry (then the trainer runs on one thread). `threads: 1` starts none: the
   * pool then computes every batch on the trainer's thread (the tests compare the two).
   */
  static async start(
    model: tf.LayersModel,
    opts: { backend: BackendName; numClasses: number; seed: number; entry?: WorkerEntry; threads?: number }
  ): Promise<GradientWorker | null> {
    const entry = opts.entry
    if (!entry) return null
    const workers = Math.max(0, (opts.threads ?? 2) - 1)
    let artifacts: tf.io.ModelArtifacts | null = null
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      })
    )
    const started = await Promise.allSettled(
      Array.from({ length: workers }, () => WorkerLink.start(artifacts!, { ...opts, entry }))
    )
    const links = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      await Promise.all(links.map((l) => l.close()))
      throw failed.reason
    }
    return new GradientWorker(links)
  }

  /** The current trainable weights, written once into the buffer every worker reads. */
  private shareWeights(vars: tf.Variable[]): Float32Array[] {
    if (!this.shared || !fits(this.shared.views, vars)) this.shared = sharedViews(vars)
    const views = this.shared.views
    // From the wasm heap straight into the shared buffer (dataSync would copy each weight once more first).
    vars.forEach((v, i) => views[i].set(float32Values(v)))
    return views
  }

  /**
   * Worker k's gradient buffer for these variables. With one worker it is the weights' buffer itself (233 MiB
   * less on a full AlexNet): the worker copies the weights onto its heap before it computes anything and writes
   * its gradients only after, and nothing else reads that buffer until the next step writes the weights again.
   * With more workers, one worker's gradients could land while another still copies the weights.
   */
  private gradBuffer(k: number, vars: tf.Variable[], weights: Float32Array[]): Float32Array[] {
    if (this.links.length === 1) return weights
    if (!this.gradBuffers[k] || !fits(this.gradBuffers[k], vars))
      this.gradBuffers[k] = sharedViews(vars).views
    return this.gradBuffers[k]
  }

  /**
   * The gradient of a whole batch, computed in parts: the workers take the first rows (one part each, with
   * the model's current trainable weights), this thread the last part meanwhile; the parts are averaged by
   * size (the losses are means). Dropout masks are drawn per part from the run's seed and the step (parts
   * N*step .. N*step+N-1, this thread's first), so a run repeats exactly. The caller owns the returned
   * gradients (keyed by variable name).
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
    const parts = Math.min(this.threads, b.size)
    // Part 0 (this thread) takes the rows left over, so two threads split 7 as 3 there and 4 here.
    const base = Math.floor(b.size / parts)
    const sizes = Array.from({ length: parts }, (_, j) => base + (j < b.size % parts ? 1 : 0))
    const weights = parts > 1 ? this.shareWeights(vars) : []
    const remote: Promise<{ loss: number; acc: number }>[] = []
    const gradViews: Float32Array[][] = []
    let row = 0
    for (let j = 1; j < parts; j++) {
      const n = sizes[j]
      gradViews.push(this.gradBuffer(j - 1, vars, weights))
      remote.push(
        this.links[j - 1].step(
          weights,
          gradViews[j - 1],
          b.x.slice(row * len, (row + n) * len),
          [n, ...inputShape],
          b.y.slice(row, row + n),
          dropout.step * parts + j
        )
      )
      row += n
    }
    const nLocal = sizes[0]
    reseedDropout(dropout.layers, dropout.seed, dropout.step * parts)
    const local = tf.tidy(() => {
      const x = tf.tensor(b.x.subarray(row * len, b.size * len), [nLocal, ...inputShape])
      const y = tf.tensor1d(b.y.subarray(row, b.size), 'int32')
      const r = batchGradients(model, vars, x, y, numClasses)
      return { loss: r.loss, acc: r.acc, grads: vars.map((v) => r.grads[v.name]) }
    })
    let theirs: { loss: number; acc: number }[]
    try {
      theirs = await Promise.all(remote)
    } catch (err) {
      // Every worker's reply must be in before the next step writes the shared weights again.
      await Promise.allSettled(remote)
      tf.dispose([local.loss, local.acc, ...local.grads])
      throw err
    }
    const wl = nLocal / b.size
    let loss = local.loss.dataSync()[0] * wl
    let acc = local.acc.dataSync()[0] * wl
    theirs.forEach((t, k) => {
      loss += (t.loss * sizes[k + 1]) / b.size
      acc += (t.acc * sizes[k + 1]) / b.size
    })
    tf.dispose([local.loss, local.acc])
    const grads: tf.NamedTensorMap = {}
    if (gradViews.length === 0) {
      vars.forEach((v, i) => (grads[v.name] = local.grads[i]))
      return { loss, acc, grads }
    }
    // One variable at a time, in place in worker 1's buffer: its average replaces this thread's gradient
    // on the heap, so the step's memory does not grow here.
    const weightsOf = gradViews.map((_, k) => sizes[k + 1] / b.size)
    vars.forEach((v, i) => {
      const sum = gradViews[0][i]
      const mine = float32Values(local.grads[i]) // a heap view: read before the next allocation
      const w0 = weightsOf[0]
      for (let e = 0; e < sum.length; e++) sum[e] = mine[e] * wl + sum[e] * w0
      for (let k = 1; k < gradViews.length; k++) {
        const theirsK = gradViews[k][i]
        const wk = weightsOf[k]
        for (let e = 0; e < sum.length; e++) sum[e] += theirsK[e] * wk
      }
      local.grads[i].dispose()
      grads[v.name] = tensorFromValues(sum, v.shape)
    })
    return { loss, acc, grads }
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.close()))
  }
}

/** Whether `views` were made for these variables (same count and sizes). */
function fits(views: Float32Array[], vars: tf.Variable[]): boolean {
  return views.length === vars.length && views.every((view, i) => view.length === vars[i].size)
}

/** One SharedArrayBuffer for the values of `vars`, as one view per variable. */
function sharedViews(vars: tf.Variable[]): { buffer: SharedArrayBuffer; views: Float32Array[] } {
  const sizes = vars.map((v) => v.size)
  const buffer = new SharedArrayBuffer(sizes.reduce((a, c) => a + c, 0) * 4)
  let offset = 0
  const views = sizes.map((n) => {
    const view = new Float32Array(buffer, offset * 4, n)
    offset += n
    return view
  })
  return { buffer, views }
}
