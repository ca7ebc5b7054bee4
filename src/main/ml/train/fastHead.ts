// A fused trainer for feature extraction's new last layer (a dense softmax layer on cached features): logits,
// softmax, cross-entropy gradient and the Adam (or momentum) update of a whole batch in one WebAssembly SIMD
// call (native/head.c), on this module's own wasm memory, with no TF.js op per batch. Through TF.js the same
// step is a dozen ops, each with its dispatch, allocation and tidy bookkeeping, which made the head 10-20x
// slower than PyTorch on the same features (bench/RESULTS.md, "Fast head"); the arithmetic itself is small.
//
// Hand-written because no library does this: tfjs has no fused dense + softmax-CE + optimizer step, its wasm
// backend runs each op separately on its own heap, and onnxruntime-node has no training. The kernel reproduces
// the trainer's TF.js step (gradients.ts loss, tf.train.adam / tf.train.momentum), which the tests check
// against TF.js itself on the cpu backend.
//
// Two ways to feed it: `step` copies one batch in (the trainer, on its feature batch source), or `setFeatures`
// once then `trainEpoch` per epoch on index orders (whole epochs in one call, e.g. for cross-validation).
import type * as tf from '@tensorflow/tfjs'
import { WASM_BASE64 } from '../tfjs/kernels/native/head.wasm'

/** The WebAssembly API (the main process's tsconfig has no DOM types that declare it). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => {
    buffer: ArrayBuffer
    grow(pages: number): number
  }
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> }
}
const WASM = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly

type StepFn = (h: number, x: number, y: number, rows: number, n: number, lr: number, picked: number) => number
type EpochFn = (
  h: number,
  x: number,
  y: number,
  order: number,
  count: number,
  batch: number,
  lr: number,
  rates: number,
  picked: number,
  correct: number
) => void
type PredictFn = (h: number, x: number, rows: number, n: number, out: number) => void

let compiled: object | null | undefined
let compileError = ''

/** The compiled module, or null where this runtime has no WebAssembly SIMD. */
function headModule(): object | null {
  if (compiled !== undefined) return compiled
  try {
    if (!WASM) throw new Error('no WebAssembly')
    compiled = new WASM.Module(Buffer.from(WASM_BASE64, 'base64'))
  } catch (err) {
    compiled = null
    compileError = err instanceof Error ? err.message : String(err)
  }
  return compiled
}

/** Whether the fused head can run here (WebAssembly with SIMD); `reason` says why not. */
export function fastHeadSupport(): { ok: boolean; reason: string } {
  return headModule() ? { ok: true, reason: '' } : { ok: false, reason: compileError }
}

export interface FastHeadOptions {
  /** Feature length (the dense layer's input). */
  dim: number
  numClasses: number
  /** The most samples one `step` takes (the batch size). */
  maxBatch: number
  optimizer: 'adam' | 'sgd-momentum'
  learningRate: number
  /** Adam's betas and epsilon; tf.train.adam's defaults (0.9, 0.999, the backend's epsilon 1e-7) when absent. */
  beta1?: number
  beta2?: number
  epsilon?: number
  /** Momentum's factor (the trainer's 0.9 when absent). */
  momentum?: number
}

/** Mean loss and accuracy of one step, as the trainer's TF.js step reports them. */
export interface StepResult {
  loss: number
  acc: number
}

export interface EpochResult {
  /** Per step. */
  losses: Float64Array
  accuracies: Float64Array
  /** Sums over the epoch's samples. */
  lossSum: number
  correct: number
  samples: number
}

const PAGE = 65536
const ALIGN = 16
// The Head record's fields in 4-byte words (native/head.c's struct Head).
const H = {
  dim: 0,
  k: 1,
  kp: 2,
  opt: 3,
  beta1: 4,
  beta2: 5,
  eps: 6,
  acc1: 7,
  acc2: 8,
  w: 9,
  b: 10,
  s1w: 11,
  s2w: 12,
  s1b: 13,
  s2b: 14,
  z: 15,
  gb: 16,
  off: 17,
  size: 18
}
/** The fixed regions of a head's memory, in order. */
type Region =
  | 'head'
  | 'w'
  | 'b'
  | 's1w'
  | 's2w'
  | 's1b'
  | 's2b'
  | 'z'
  | 'gb'
  | 'off'
  | 'x'
  | 'y'
  | 'rows'
  | 'picked'
  | 'out'
/** The most memory the kernel's pointers (signed 32-bit offsets) may use. */
const MAX_BYTES = 2 ** 31

/** -log(p) with p clipped to [1e-7, 1], as the trainer's loss. */
const nll = (p: number): number => -Math.log(Math.min(1, Math.max(1e-7, p)))

export class FastHead {
  readonly dim: number
  readonly numClasses: number
  readonly maxBatch: number
  private readonly kp: number
  private readonly memory: InstanceType<WasmApi['Memory']>
  private readonly stepFn: StepFn
  private readonly epochFn: EpochFn
  private readonly predictFn: PredictFn
  private readonly at: Record<Region, number>
  /** End of the fixed layout: resident features go after it. */
  private readonly fixedEnd: number
  private resident: {
    x: number
    y: number
    order: number
    picked: number
    correct: number
    rates: number
    count: number
  } | null = null
  private learningRate: number
  private readonly opts: Required<Omit<FastHeadOptions, 'dim' | 'numClasses' | 'maxBatch' | 'learningRate'>>
  private disposed = false

  private constructor(o: FastHeadOptions, module: object) {
    if (!(Number.isInteger(o.dim) && o.dim >= 1)) throw new Error(`fast head: dim must be >= 1, got ${o.dim}`)
    if (!(Number.isInteger(o.numClasses) && o.numClasses >= 2))
      throw new Error(`fast head: needs at least 2 classes, got ${o.numClasses}`)
    if (!(Number.isInteger(o.maxBatch) && o.maxBatch >= 1))
      throw new Error(`fast head: batch must be >= 1, got ${o.maxBatch}`)
    if (!(o.learningRate > 0)) throw new Error(`fast head: learning rate must be > 0, got ${o.learningRate}`)
    this.dim = o.dim
    this.numClasses = o.numClasses
    this.maxBatch = o.maxBatch
    this.kp = Math.ceil(o.numClasses / 4) * 4
    this.learningRate = o.learningRate
    this.opts = {
      optimizer: o.optimizer,
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.999,
      epsilon: o.epsilon ?? 1e-7,
      momentum: o.momentum ?? 0.9
    }
    // Layout: the record, then W, b and the optimizer's state, the scratch of one step, one staged batch.
    let end = 1024
    const take = (floats: number): number => {
      const at = end
      end += Math.ceil((floats * 4) / ALIGN) * ALIGN
      return at
    }
    const wLen = this.dim * this.kp
    const head = take(H.size)
    const at = {
      head,
      w: take(wLen),
      b: take(this.kp),
      s1w: take(wLen),
      s2w: take(wLen),
      s1b: take(this.kp),
      s2b: take(this.kp),
      z: take(this.maxBatch * this.kp),
      gb: take(this.kp),
      off: take(this.maxBatch),
      x: take(this.maxBatch * this.dim),
      y: take(this.maxBatch),
      rows: take(this.maxBatch),
      picked: take(this.maxBatch),
      out: take(this.maxBatch * this.numClasses)
    }
    if (end > MAX_BYTES)
      throw new Error(`fast head: ${this.dim} x ${this.numClasses} with batch ${this.maxBatch} is too large`)
    this.fixedEnd = end
    // The module asks for 2 pages at least (wasm-ld's default layout; it uses no stack or data).
    this.memory = new WASM!.Memory({ initial: Math.max(2, Math.ceil(end / PAGE)) })
    const exports = new WASM!.Instance(module, { env: { memory: this.memory } }).exports
    this.stepFn = exports.head_step as StepFn
    this.epochFn = exports.head_epoch as EpochFn
    this.predictFn = exports.head_predict as PredictFn
    this.at = at
    const i32 = new Int32Array(this.memory.buffer, head, H.size)
    const f32 = new Float32Array(this.memory.buffer, head, H.size)
    i32[H.dim] = this.dim
    i32[H.k] = this.numClasses
    i32[H.kp] = this.kp
    i32[H.opt] = o.optimizer === 'adam' ? 0 : 1
    f32[H.beta1] = o.optimizer === 'adam' ? this.opts.beta1 : this.opts.momentum
    f32[H.beta2] = this.opts.beta2
    f32[H.eps] = this.opts.epsilon
    for (const key of ['w', 'b', 's1w', 's2w', 's1b', 's2b', 'z', 'gb', 'off'] as const) i32[H[key]] = at[key]
    const rows = this.i32(at.rows, this.maxBatch)
    for (let r = 0; r < this.maxBatch; r++) rows[r] = r
    this.resetOptimizer()
  }

  /** A head with zero weights (set them with `setWeights`); throws where fastHeadSupport() is not ok. */
  static create(o: FastHeadOptions): FastHead {
    const module = headModule()
    if (!module) throw new Error(`the fast head needs WebAssembly SIMD (${compileError})`)
    return new FastHead(o, module)
  }

  private f32(at: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, n)
  }

  private i32(at: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, n)
  }

  private live(): void {
    if (this.disposed) throw new Error('fast head: used after dispose')
  }

  /** The rate of the next steps (a schedule sets it per step, as the trainer does on the TF.js optimizer). */
  setLearningRate(lr: number): void {
    if (!(lr > 0)) throw new Error(`fast head: learning rate must be > 0, got ${lr}`)
    this.learningRate = lr
  }

  /** Forgets the optimizer's state (moments, step count), as a fresh tf.train.adam / momentum. */
  resetOptimizer(): void {
    this.live()
    const wLen = this.dim * this.kp
    for (const key of ['s1w', 's2w'] as const) this.f32(this.at[key], wLen).fill(0)
    for (const key of ['s1b', 's2b'] as const) this.f32(this.at[key], this.kp).fill(0)
    const f32 = this.f32(this.at.head, H.size)
    f32[H.acc1] = this.opts.beta1
    f32[H.acc2] = this.opts.beta2
  }

  /** Sets the weights: `kernel` [dim, numClasses] row-major (a Dense layer's kernel), `bias` [numClasses]. */
  setWeights(kernel: ArrayLike<number>, bias: ArrayLike<number>): void {
    this.live()
    const k = this.numClasses
    if (kernel.length !== this.dim * k || bias.length !== k) {
      throw new Error(
        `fast head: weights of ${kernel.length} + ${bias.length} values, expected ${this.dim * k} + ${k}`
      )
    }
    const w = this.f32(this.at.w, this.dim * this.kp)
    w.fill(0)
    for (let i = 0; i < this.dim; i++) {
      for (let j = 0; j < k; j++) w[i * this.kp + j] = kernel[i * k + j]
    }
    const b = this.f32(this.at.b, this.kp)
    b.fill(0)
    for (let j = 0; j < k; j++) b[j] = bias[j]
  }

  /** The weights as a Dense layer holds them: kernel [dim, numClasses] row-major and bias [numClasses]. */
  weights(): { kernel: Float32Array; bias: Float32Array } {
    this.live()
    const k = this.numClasses
    const w = this.f32(this.at.w, this.dim * this.kp)
    const kernel = new Float32Array(this.dim * k)
    for (let i = 0; i < this.dim; i++) kernel.set(w.subarray(i * this.kp, i * this.kp + k), i * k)
    return { kernel, bias: this.f32(this.at.b, k).slice() }
  }

  /**
   * One training step on `n` samples: `x` [n, dim] row-major (longer arrays are read up to n rows), labels
   * `y` [n] in 0..numClasses-1. Returns the batch's mean loss and accuracy before the update.
   */
  step(x: Float32Array, y: Int32Array, n: number): StepResult {
    this.live()
    if (!(Number.isInteger(n) && n >= 1 && n <= this.maxBatch))
      throw new Error(`fast head: a step takes 1..${this.maxBatch} samples, got ${n}`)
    if (x.length < n * this.dim || y.length < n) throw new Error(`fast head: fewer than ${n} samples given`)
    this.f32(this.at.x, n * this.dim).set(x.subarray(0, n * this.dim))
    const labels = this.i32(this.at.y, n)
    for (let r = 0; r < n; r++) {
      const label = y[r]
      if (!(label >= 0 && label < this.numClasses)) throw new Error(`fast head: label ${label} out of range`)
      labels[r] = label
    }
    const correct = this.stepFn(
      this.at.head,
      this.at.x,
      this.at.y,
      this.at.rows,
      n,
      this.learningRate,
      this.at.picked
    )
    const picked = this.f32(this.at.picked, n)
    let loss = 0
    for (let r = 0; r < n; r++) loss += nll(picked[r])
    return { loss: loss / n, acc: correct / n }
  }

  /**
   * Keeps `count` samples in the head's memory for `trainEpoch` and `predictResident`: `x` [count, dim],
   * labels `y` [count]. Replaces the previous set.
   */
  setFeatures(x: Float32Array, y: Int32Array, count: number): void {
    this.live()
    if (!(Number.isInteger(count) && count >= 1))
      throw new Error(`fast head: needs >= 1 sample, got ${count}`)
    if (x.length < count * this.dim || y.length < count)
      throw new Error(`fast head: fewer than ${count} samples given`)
    let end = this.fixedEnd
    const take = (words: number): number => {
      const at = end
      end += Math.ceil((words * 4) / ALIGN) * ALIGN
      return at
    }
    const r = {
      x: take(count * this.dim),
      y: take(count),
      order: take(count),
      picked: take(count),
      correct: take(count),
      rates: take(count),
      count
    }
    if (end > MAX_BYTES) {
      throw new Error(
        `fast head: ${count} samples of ${this.dim} values need ${(end / 2 ** 30).toFixed(1)} GiB, over the 2 GiB it can hold`
      )
    }
    const have = this.memory.buffer.byteLength
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE))
    this.f32(r.x, count * this.dim).set(x.subarray(0, count * this.dim))
    const labels = this.i32(r.y, count)
    for (let i = 0; i < count; i++) {
      if (!(y[i] >= 0 && y[i] < this.numClasses)) throw new Error(`fast head: label ${y[i]} out of range`)
      labels[i] = y[i]
    }
    this.resident = r
  }

  /**
   * One epoch over the resident samples in `order` (indices into what setFeatures was given, any subset and
   * order, e.g. one fold's training part), in batches of `batchSize` (the last may be smaller), in one call.
   * `rates` gives the rate of each step (a schedule), else the current rate is used throughout.
   */
  trainEpoch(order: Int32Array, opts: { batchSize: number; rates?: ArrayLike<number> }): EpochResult {
    this.live()
    const r = this.resident
    if (!r) throw new Error('fast head: trainEpoch needs setFeatures first')
    const batch = opts.batchSize
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= this.maxBatch))
      throw new Error(`fast head: batch must be 1..${this.maxBatch}, got ${batch}`)
    const count = order.length
    if (count < 1 || count > r.count)
      throw new Error(`fast head: an epoch of ${count} samples, have ${r.count}`)
    for (let i = 0; i < count; i++) {
      if (!(order[i] >= 0 && order[i] < r.count))
        throw new Error(`fast head: sample ${order[i]} out of range`)
    }
    const steps = Math.ceil(count / batch)
    this.i32(r.order, count).set(order)
    if (opts.rates) {
      if (opts.rates.length < steps)
        throw new Error(`fast head: ${opts.rates.length} rates for ${steps} steps`)
      const rates = this.f32(r.rates, steps)
      for (let s = 0; s < steps; s++) {
        if (!(opts.rates[s] > 0))
          throw new Error(`fast head: learning rate must be > 0, got ${opts.rates[s]}`)
        rates[s] = opts.rates[s]
      }
    }
    this.epochFn(
      this.at.head,
      r.x,
      r.y,
      r.order,
      count,
      batch,
      this.learningRate,
      opts.rates ? r.rates : 0,
      r.picked,
      r.correct
    )
    const picked = this.f32(r.picked, count)
    const correct = this.i32(r.correct, steps)
    const losses = new Float64Array(steps)
    const accuracies = new Float64Array(steps)
    let lossSum = 0
    let hits = 0
    for (let s = 0; s < steps; s++) {
      const start = s * batch
      const n = Math.min(batch, count - start)
      let l = 0
      for (let j = start; j < start + n; j++) l += nll(picked[j])
      losses[s] = l / n
      accuracies[s] = correct[s] / n
      lossSum += l
      hits += correct[s]
    }
    return { losses, accuracies, lossSum, correct: hits, samples: count }
  }

  /** Class probabilities [n, numClasses] of `x` [n, dim] (row-major), without training. */
  predict(x: Float32Array, n: number): Float32Array {
    this.live()
    if (x.length < n * this.dim) throw new Error(`fast head: fewer than ${n} samples given`)
    const k = this.numClasses
    const out = new Float32Array(n * k)
    for (let start = 0; start < n; start += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - start)
      this.f32(this.at.x, m * this.dim).set(x.subarray(start * this.dim, (start + m) * this.dim))
      this.predictFn(this.at.head, this.at.x, this.at.rows, m, this.at.out)
      out.set(this.f32(this.at.out, m * k), start * k)
    }
    return out
  }

  /** Frees the memory (the wasm memory goes with the last reference to it). */
  dispose(): void {
    this.disposed = true
    this.resident = null
  }
}

/**
 * The dense softmax layer of a head model when that is all it computes (an input and one Dense layer with
 * softmax and a bias, no regularizers or constraints), i.e. when FastHead can train it; else null.
 */
export function denseSoftmaxHead(model: tf.LayersModel): tf.layers.Layer | null {
  const withWeights = model.layers.filter((l) => l.getClassName() !== 'InputLayer')
  if (withWeights.length !== 1) return null
  const layer = withWeights[0]
  if (layer.getClassName() !== 'Dense' || !layer.trainable) return null
  const c = layer.getConfig() as Record<string, unknown>
  if (c.activation !== 'softmax' || c.useBias !== true) return null
  for (const key of [
    'kernelRegularizer',
    'biasRegularizer',
    'activityRegularizer',
    'kernelConstraint',
    'biasConstraint'
  ]) {
    if (c[key] != null) return null
  }
  const weights = layer.getWeights()
  if (weights.length !== 2 || weights[0].shape.length !== 2 || weights[1].shape.length !== 1) return null
  // One input, one Dense, one output: the Dense maps the one to the other (its `input` cannot be asked, the
  // layer is usually shared with the full image model too).
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null
  return layer
}
