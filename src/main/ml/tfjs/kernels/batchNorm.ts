// Batch normalisation in training mode as two kernels: one forward pass that returns the normalised output
// with the batch's mean and variance, and one gradient pass. tfjs-layers builds the same thing from about
// fifteen general kernels (moments, batchNorm, their gradients, broadcasts), each a full pass over the
// activation; on the wasm backend that chain was about 45 % of a compact-CNN train step (230 of 508 ms,
// batch 32, one thread). Here each direction is two passes in JS over the tensor's memory:
//   forward:  per-channel sum and sum of squares (float64), then y = x * a[c] + b[c]
//   backward: per-channel sum(dy) and sum(dy * (x - mean)), then dx = dy * k1[c] + x * k2[c] + k3[c]
// with a = gamma / sd, b = beta - mean * a, sd = sqrt(var + epsilon), var the biased batch variance (what
// tfjs-layers uses), and the k's from the usual formula
//   dx = gamma / sd * (dy - mean(dy) - xhat * mean(dy * xhat)),  xhat = (x - mean) / sd.
// On wasm both passes run in the studio's SIMD kernels (native/batchNorm.c) on the backend's heap when the
// channel count is a multiple of 4: about 15 of the 80 ms of a 16-image compact step in JS before.
// The kernels are registered for the wasm and cpu backends. `BatchNormalization` below is tfjs's layer with
// this path in training mode on those backends; inference, other axes and other backends (tfjs-node) keep
// tfjs's own code. It keeps the class name 'BatchNormalization', so saved models and the ONNX export are
// unchanged.
import * as tf from '@tensorflow/tfjs'
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs'
import { WASM_BASE64 as BATCH_NORM_WASM } from './native/batchNorm.wasm'
import { type HeapBackend, heapExports, heapMemory } from './native/heap'

export const BN_TRAIN = 'StudioBatchNormTrain'
export const BN_TRAIN_GRAD = 'StudioBatchNormTrainGrad'

// The loops walk four channels at a time down the rows, with their coefficients in locals: V8 runs that at
// about 2 ns per value, against 5-6 ns for the plain row-by-row double loop (measured, 32x32x16 at batch 32).

/**
 * Per-channel sums of u and of u*v over the rows of [M, C] arrays (row-major): s1[c] = sum u, s2[c] = sum u*v.
 * The forward pass passes x twice (sum and sum of squares), the gradient dy and x. Channels go four at a
 * time, the tail one by one.
 */
function channelSums(u: Float32Array, v: Float32Array, c: number, s1: Float64Array, s2: Float64Array): void {
  const n = u.length
  let j = 0
  for (; j + 4 <= c; j += 4) {
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0,
      b0 = 0,
      b1 = 0,
      b2 = 0,
      b3 = 0
    for (let o = j; o < n; o += c) {
      const u0 = u[o],
        u1 = u[o + 1],
        u2 = u[o + 2],
        u3 = u[o + 3]
      a0 += u0
      a1 += u1
      a2 += u2
      a3 += u3
      b0 += u0 * v[o]
      b1 += u1 * v[o + 1]
      b2 += u2 * v[o + 2]
      b3 += u3 * v[o + 3]
    }
    s1[j] = a0
    s1[j + 1] = a1
    s1[j + 2] = a2
    s1[j + 3] = a3
    s2[j] = b0
    s2[j + 1] = b1
    s2[j + 2] = b2
    s2[j + 3] = b3
  }
  for (; j < c; j++) {
    let a = 0
    let b = 0
    for (let o = j; o < n; o += c) {
      a += u[o]
      b += u[o] * v[o]
    }
    s1[j] = a
    s2[j] = b
  }
}

/** out = u * k1[c] + v * k2[c] + k3[c] per channel; v may be null (then without the middle term). */
function channelAffine(
  out: Float32Array,
  c: number,
  u: Float32Array,
  k1: Float64Array,
  v: Float32Array | null,
  k2: Float64Array,
  k3: Float64Array
): void {
  const n = u.length
  let j = 0
  for (; j + 4 <= c; j += 4) {
    const p0 = k1[j],
      p1 = k1[j + 1],
      p2 = k1[j + 2],
      p3 = k1[j + 3]
    const r0 = k3[j],
      r1 = k3[j + 1],
      r2 = k3[j + 2],
      r3 = k3[j + 3]
    if (v === null) {
      for (let o = j; o < n; o += c) {
        out[o] = u[o] * p0 + r0
        out[o + 1] = u[o + 1] * p1 + r1
        out[o + 2] = u[o + 2] * p2 + r2
        out[o + 3] = u[o + 3] * p3 + r3
      }
    } else {
      const q0 = k2[j],
        q1 = k2[j + 1],
        q2 = k2[j + 2],
        q3 = k2[j + 3]
      for (let o = j; o < n; o += c) {
        out[o] = u[o] * p0 + v[o] * q0 + r0
        out[o + 1] = u[o + 1] * p1 + v[o + 1] * q1 + r1
        out[o + 2] = u[o + 2] * p2 + v[o + 2] * q2 + r2
        out[o + 3] = u[o + 3] * p3 + v[o + 3] * q3 + r3
      }
    }
  }
  for (; j < c; j++) {
    for (let o = j; o < n; o += c) out[o] = u[o] * k1[j] + (v === null ? 0 : v[o] * k2[j]) + k3[j]
  }
}

/** The two passes both kernels are made of: in JS (below) or in wasm SIMD on the heap (wasmChannelOps). */
export interface ChannelOps {
  sums: typeof channelSums
  affine: typeof channelAffine
}

export const jsChannelOps: ChannelOps = { sums: channelSums, affine: channelAffine }

/** Per-channel statistics of x [M, C] (row-major) and y = (x - mean) / sqrt(var + eps) * gamma + beta. */
export function batchNormTrainForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  epsilon: number,
  y: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  ops: ChannelOps = jsChannelOps
): void {
  const c = gamma.length
  const m = x.length / c
  const s1 = new Float64Array(c)
  const s2 = new Float64Array(c)
  ops.sums(x, x, c, s1, s2)
  const a = new Float64Array(c)
  const b = new Float64Array(c)
  for (let j = 0; j < c; j++) {
    const mu = s1[j] / m
    const vr = Math.max(0, s2[j] / m - mu * mu)
    mean[j] = mu
    variance[j] = vr
    a[j] = gamma[j] / Math.sqrt(vr + epsilon)
    b[j] = beta[j] - mu * a[j]
  }
  ops.affine(y, c, x, a, null, a, b)
}

/** Gradients of batchNormTrainForward's y with respect to x, gamma and beta, given dy. */
export function batchNormTrainBackward(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array,
  epsilon: number,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
  ops: ChannelOps = jsChannelOps
): void {
  const c = gamma.length
  const m = x.length / c
  // sum(dy) and sum(dy * (x - mean)) = sum(dy * x) - mean * sum(dy), both per channel.
  const sdy = new Float64Array(c)
  const sdyx = new Float64Array(c)
  ops.sums(dy, x, c, sdy, sdyx)
  const k1 = new Float64Array(c)
  const k2 = new Float64Array(c)
  const k3 = new Float64Array(c)
  for (let i = 0; i < c; i++) {
    const centred = sdyx[i] - mean[i] * sdy[i]
    const inv = 1 / Math.sqrt(variance[i] + epsilon)
    dbeta[i] = sdy[i]
    dgamma[i] = centred * inv
    k1[i] = gamma[i] * inv
    k2[i] = (-gamma[i] * inv * inv * inv * centred) / m
    k3[i] = (-gamma[i] * inv * sdy[i]) / m - k2[i] * mean[i]
  }
  ops.affine(dx, c, dy, k1, x, k2, k3)
}

/** Most channels the wasm path takes (its scratch holds two float64 and three float32 values per channel). */
const MAX_WASM_CHANNELS = 2048
const SCRATCH_BYTES = MAX_WASM_CHANNELS * (2 * 8 + 3 * 4)
const scratchOn = new WeakMap<object, number>()

/**
 * The two passes in wasm SIMD on this backend's heap, or null. Falls back to JS per call where the channel
 * count does not suit it or an array is not on the heap. Call before making the kernel's outputs' views: the
 * first call on a heap allocates its scratch, which may grow the heap.
 */
function wasmChannelOps(backend: unknown): ChannelOps | null {
  const memory = heapMemory(backend)
  const kernels = heapExports(backend, 'batchNorm', BATCH_NORM_WASM)
  const malloc = (backend as HeapBackend).wasm?._malloc
  if (!memory || !kernels || !malloc) return null
  let scratch = scratchOn.get(memory)
  if (scratch === undefined) scratchOn.set(memory, (scratch = malloc(SCRATCH_BYTES)))
  const base = scratch
  const sumsWasm = kernels.channel_sums as (...args: number[]) => void
  const affineWasm = kernels.channel_affine as (...args: number[]) => void
  const suits = (c: number, ...arrays: Array<Float32Array | null>) =>
    c % 4 === 0 && c <= MAX_WASM_CHANNELS && arrays.every((a) => a === null || a.buffer === memory.buffer)
  return {
    sums(u, v, c, s1, s2) {
      if (!suits(c, u, v)) return channelSums(u, v, c, s1, s2)
      sumsWasm(u.byteOffset, v.byteOffset, u.length / c, c, base, base + 8 * c)
      const out = new Float64Array(memory.buffer, base, 2 * c)
      s1.set(out.subarray(0, c))
      s2.set(out.subarray(c))
    },
    affine(out, c, u, k1, v, k2, k3) {
      if (!suits(c, out, u, v)) return channelAffine(out, c, u, k1, v, k2, k3)
      const k = new Float32Array(memory.buffer, base, 3 * c)
      k.set(k1)
      k.set(k2, c)
      k.set(k3, 2 * c)
      const [o, x, y] = [out.byteOffset, u.byteOffset, v ? v.byteOffset : 0]
      affineWasm(o, x, y, base, base + 4 * c, base + 8 * c, u.length / c, c)
    }
  }
}

/** How a kernel reads its inputs and makes its float32 outputs on one backend. */
interface Memory {
  /** The passes to run on this backend; called before the outputs are made. */
  ops(backend: unknown): ChannelOps
  read(backend: unknown, t: TensorInfo): Float32Array
  /** Allocates every output first, then returns their views (allocation may move wasm memory). */
  outputs(backend: unknown, shapes: number[][]): { infos: TensorInfo[]; views: () => Float32Array[] }
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array
}

interface CpuBackend {
  data: { get(dataId: object): { values: Float32Array } }
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)

const wasmMemory: Memory = {
  ops: (backend) => wasmChannelOps(backend) ?? jsChannelOps,
  read: (backend, t) => (backend as WasmBackend).typedArrayFromHeap(t),
  outputs(backend, shapes) {
    const b = backend as WasmBackend
    const infos = shapes.map((s) => b.makeOutput(s, 'float32'))
    return { infos, views: () => infos.map((i) => b.typedArrayFromHeap(i)) }
  }
}

const cpuMemory: Memory = {
  ops: () => jsChannelOps,
  read: (backend, t) => (backend as CpuBackend).data.get(t.dataId).values,
  outputs(backend, shapes) {
    const arrays = shapes.map((s) => new Float32Array(size(s)))
    const infos = shapes.map((s, i) => (backend as CpuBackend).makeTensorInfo(s, 'float32', arrays[i]))
    return { infos, views: () => arrays }
  }
}

/**
 * A kernel with inputs including x and gamma, and three float32 outputs shaped like x, gamma and gamma
 * ([y, mean, variance] forward; [dx, dgamma, dbeta] for the gradient). `run` gets the inputs by name.
 */
function channelKernel(
  memory: Memory,
  run: (read: (name: string) => Float32Array, out: Float32Array[], epsilon: number, ops: ChannelOps) => void
): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const tensors = inputs as Record<string, TensorInfo>
    const c = tensors.gamma.shape[0]
    const ops = memory.ops(backend)
    const out = memory.outputs(backend, [tensors.x.shape, [c], [c]])
    const { epsilon } = attrs as unknown as { epsilon: number }
    run((name) => memory.read(backend, tensors[name]), out.views(), epsilon, ops)
    return out.infos
  }
}

const forwardKernel = (memory: Memory): KernelFunc =>
  channelKernel(memory, (read, [y, mean, variance], epsilon, ops) =>
    batchNormTrainForward(read('x'), read('gamma'), read('beta'), epsilon, y, mean, variance, ops)
  )

const gradKernel = (memory: Memory): KernelFunc =>
  channelKernel(memory, (read, [dx, dgamma, dbeta], epsilon, ops) =>
    batchNormTrainBackward(
      read('dy'),
      read('x'),
      read('mean'),
      read('variance'),
      read('gamma'),
      epsilon,
      dx,
      dgamma,
      dbeta,
      ops
    )
  )

let kernelsRegistered = false

/** Registers the two kernels for wasm and cpu, and the forward kernel's gradient. Idempotent. */
export function registerBatchNormKernels(): void {
  if (kernelsRegistered) return
  for (const [backendName, memory] of [
    ['wasm', wasmMemory],
    ['cpu', cpuMemory]
  ] as const) {
    tf.registerKernel({ kernelName: BN_TRAIN, backendName, kernelFunc: forwardKernel(memory) })
    tf.registerKernel({ kernelName: BN_TRAIN_GRAD, backendName, kernelFunc: gradKernel(memory) })
  }
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      // Only y's gradient matters: mean and variance feed the moving averages, not the loss.
      const dy = Array.isArray(dys) ? dys[0] : dys
      const [x, gamma, mean, variance] = saved
      const [dx, dgamma, dbeta] = tf
        .engine()
        .runKernel(BN_TRAIN_GRAD, { dy, x, mean, variance, gamma }, attrs) as tf.Tensor[]
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta }
    }
  })
  kernelsRegistered = true
}

/** Whether both passes run in wasm SIMD on the current backend (for channel counts that are multiples of 4). */
export function batchNormSimdReady(): boolean {
  return wasmChannelOps(tf.backend()) !== null
}

/** Whether the fused training path runs on the current backend. */
export function fusedBatchNormAvailable(): boolean {
  return tf.getKernel(BN_TRAIN, tf.getBackend()) !== undefined
}

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0]
type BatchNormLayer = ReturnType<typeof tf.layers.batchNormalization>
/** tfjs's BatchNormalization class (tfjs-layers does not export it by name). */
const TfjsBatchNormalization = tf.layers.batchNormalization({}).constructor as new (
  args?: BatchNormArgs
) => BatchNormLayer

/** The fields of tfjs's layer that its training path uses. */
interface BatchNormFields {
  axis: number
  momentum: number
  epsilon: number
  center: boolean
  scale: boolean
  gamma: tf.LayerVariable
  beta: tf.LayerVariable
  movingMean: tf.LayerVariable
  movingVariance: tf.LayerVariable
}

/** tfjs's BatchNormalization with the two-kernel training path (see the header). */
export class BatchNormalization extends TfjsBatchNormalization {
  static className = 'BatchNormalization'

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    const f = this as unknown as BatchNormFields
    const axis = f.axis < 0 ? f.axis + x.rank : f.axis
    // A frozen layer (trainable false) runs in inference mode even in a train step, as Keras does: its
    // moving statistics are used and never updated. That is how a pretrained backbone's batch norms stay
    // as ImageNet left them while it is fine-tuned (the trap the Keras transfer-learning guide warns about).
    if (!this.trainable) return super.call(inputs, { ...kwargs, training: false })
    const training = kwargs.training === true
    if (!training || axis !== x.rank - 1 || !f.center || !f.scale || x.dtype !== 'float32')
      return super.call(inputs, kwargs)
    if (!fusedBatchNormAvailable()) return super.call(inputs, kwargs)
    return tf.tidy(() => {
      const [y, mean, variance] = tf
        .engine()
        .runKernel(BN_TRAIN, { x, gamma: f.gamma.read(), beta: f.beta.read() }, {
          epsilon: f.epsilon
        } as unknown as NamedAttrMap) as tf.Tensor[]
      // The same moving-average update as tfjs-layers: moving -= (moving - batch) * (1 - momentum).
      for (const [variable, value] of [
        [f.movingMean, mean],
        [f.movingVariance, variance]
      ] as const) {
        tf.tidy(() => {
          const old = variable.read()
          variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - f.momentum)))
        })
      }
      return y
    })
  }
}

/** Makes saved models load with this class (same name as tfjs's, so no 'Custom>' prefix is written). */
export function registerBatchNormalization(): void {
  registerBatchNormKernels()
  // fromConfig is inherited from tfjs's class (static members are not in the constructor's declared type).
  tf.serialization.SerializationMap.register(
    BatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>
  )
}

export function batchNormalization(args: BatchNormArgs): BatchNormLayer {
  registerBatchNormalization()
  return new BatchNormalization(args)
}
