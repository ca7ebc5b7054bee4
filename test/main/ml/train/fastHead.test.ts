// The fused head trainer (train/fastHead.ts, native/head.c) against TF.js itself: the trainer's own TF.js step
// (batchGradients on the head model + tf.train.adam / tf.train.momentum) on the cpu backend, from the same
// initial weights on the same batches, last partial batch included. Weights, losses and accuracies must agree
// step by step; the whole-epoch call must equal the per-batch one; the head must learn a separable problem.
// Then the trainer: a strategy-3 run takes the fused path and ends where the TF.js path ends, with the same
// events, checkpoints and exportable model.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { TrainingEvent } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { train, type TrainData, type TrainResult } from '../../../../src/main/ml/train/trainer'
import { readCheckpoint, restoreCheckpoint } from '../../../../src/main/ml/train/checkpoint'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { FIVE, bvlcConfig, gtsrbTrainData } from './trainerFixtures'
import { denseSoftmaxHead, FastHead, fastHeadSupport } from '../../../../src/main/ml/train/fastHead'
import { batchGradients } from '../../../../src/main/ml/train/gradients'
import { newFc8 } from '../../../../src/main/ml/models/strategies'

/** A reproducible uniform draw in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 31 - 1
  }
}

function dataset(n: number, dim: number, k: number, seed: number): { x: Float32Array; y: Int32Array } {
  const r = rng(seed)
  const x = new Float32Array(n * dim)
  const y = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(((r() + 1) / 2) * k) % k
    for (let j = 0; j < dim; j++) x[i * dim + j] = r() * 2
  }
  return { x, y }
}

/** The head as strategy 3 builds it: features -> newFc8 (softmax, truncated-normal kernel, zero bias). */
function headModel(dim: number, k: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [dim] })
  return tf.model({ inputs: input, outputs: newFc8(k, seed).apply(input) as tf.SymbolicTensor })
}

function denseWeights(model: tf.LayersModel): { kernel: Float32Array; bias: Float32Array } {
  const [kernel, bias] = denseSoftmaxHead(model)!.getWeights()
  return { kernel: kernel.dataSync() as Float32Array, bias: bias.dataSync() as Float32Array }
}

/** Largest absolute difference over the largest magnitude of `want`. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length)
  let d = 0
  let m = 0
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]))
    m = Math.max(m, Math.abs(want[i]))
  }
  return d / m
}

type Opt = 'adam' | 'sgd-momentum'

/** Steps TF.js and the fast head through the same batches; returns both heads' losses and final weights. */
function runBoth(o: {
  dim: number
  k: number
  n: number
  batch: number
  optimizer: Opt
  rates: number[]
  seed: number
  scale?: number
}): {
  tfjs: { losses: number[]; accs: number[]; w: { kernel: Float32Array; bias: Float32Array } }
  fast: { losses: number[]; accs: number[]; w: { kernel: Float32Array; bias: Float32Array } }
  moved: number
} {
  const { x, y } = dataset(o.n, o.dim, o.k, o.seed)
  if (o.scale) for (let i = 0; i < x.length; i++) x[i] *= o.scale
  const model = headModel(o.dim, o.k, o.seed)
  const start = denseWeights(model)
  const opt: tf.Optimizer =
    o.optimizer === 'adam' ? tf.train.adam(o.rates[0]) : tf.train.momentum(o.rates[0], 0.9)
  const adam = opt as unknown as { beta1: number; beta2: number; epsilon: number }
  const fast = FastHead.create({
    dim: o.dim,
    numClasses: o.k,
    maxBatch: o.batch,
    optimizer: o.optimizer,
    learningRate: o.rates[0],
    ...(o.optimizer === 'adam' ? { beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon } : {})
  })
  fast.setWeights(start.kernel, start.bias)
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const t = { losses: [] as number[], accs: [] as number[] }
  const f = { losses: [] as number[], accs: [] as number[] }
  let step = 0
  for (const lr of o.rates) {
    // As the trainer's setRate: momentum keeps its rate in a scalar, Adam reads the field per step.
    const o2 = opt as unknown as { learningRate: number; setLearningRate?: (r: number) => void }
    if (o2.setLearningRate) o2.setLearningRate(lr)
    else o2.learningRate = lr
    fast.setLearningRate(lr)
    for (let s = 0; s < o.n; s += o.batch, step++) {
      const m = Math.min(o.batch, o.n - s)
      const xb = x.slice(s * o.dim, (s + m) * o.dim)
      const yb = y.slice(s, s + m)
      const [loss, acc] = tf.tidy(() => {
        const r = batchGradients(model, vars, tf.tensor2d(xb, [m, o.dim]), tf.tensor1d(yb, 'int32'), o.k)
        opt.applyGradients(r.grads)
        return [r.loss, r.acc]
      })
      t.losses.push(loss.dataSync()[0])
      t.accs.push(acc.dataSync()[0])
      tf.dispose([loss, acc])
      const r = fast.step(xb, yb, m)
      f.losses.push(r.loss)
      f.accs.push(r.acc)
    }
  }
  const end = denseWeights(model)
  const moved = relErr(end.kernel, start.kernel)
  const out = { tfjs: { ...t, w: end }, fast: { ...f, w: fast.weights() }, moved }
  opt.dispose()
  model.dispose()
  fast.dispose()
  return out
}

describe('fast head', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('runs here (WebAssembly SIMD in Node)', () => {
    expect(fastHeadSupport()).toEqual({ ok: true, reason: '' })
  })

  it('recognises the strategy-3 head and nothing else', () => {
    const head = headModel(8, 3, 1)
    expect(denseSoftmaxHead(head)?.getClassName()).toBe('Dense')
    const input = tf.input({ shape: [8] })
    const relu = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor
    })
    expect(denseSoftmaxHead(relu)).toBeNull()
    const input2 = tf.input({ shape: [8] })
    const dropped = tf.layers.dropout({ rate: 0.5 }).apply(input2) as tf.SymbolicTensor
    const withDropout = tf.model({
      inputs: input2,
      outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(dropped) as tf.SymbolicTensor
    })
    expect(denseSoftmaxHead(withDropout)).toBeNull()
    for (const m of [head, relu, withDropout]) m.dispose()
  })

  // dim 37 (not a multiple of 4: the kernel's row tail) and 43 classes (padded to 44: the column tail),
  // 4 batches of 16 and a last one of 7 (the row-block tail), two epochs at two rates.
  for (const optimizer of ['adam', 'sgd-momentum'] as const) {
    it(`${optimizer}: weights, losses and accuracies follow TF.js's step by step`, () => {
      const r = runBoth({ dim: 37, k: 43, n: 71, batch: 16, optimizer, rates: [1e-2, 3e-3], seed: 7 })
      // The weights moved far more than the tolerance, so agreeing means the updates agree.
      expect(r.moved).toBeGreaterThan(0.1)
      expect(relErr(r.fast.w.kernel, r.tfjs.w.kernel)).toBeLessThan(1e-4)
      expect(relErr(r.fast.w.bias, r.tfjs.w.bias)).toBeLessThan(1e-4)
      expect(r.fast.losses).toHaveLength(10)
      for (let s = 0; s < r.tfjs.losses.length; s++) {
        expect(r.fast.losses[s]).toBeCloseTo(r.tfjs.losses[s], 4)
        expect(r.fast.accs[s]).toBeCloseTo(r.tfjs.accs[s], 6)
      }
      // Both learn (the fit improves over the two epochs), so the comparison is not between two idle heads.
      expect(r.tfjs.losses[9]).toBeLessThan(r.tfjs.losses[4])
    })
  }

  it('matches TF.js at AlexNet-like shapes (dim 260, batch 64, a partial batch)', () => {
    const r = runBoth({
      dim: 260,
      k: 43,
      n: 64 * 2 + 9,
      batch: 64,
      optimizer: 'adam',
      rates: [1e-3, 1e-3],
      seed: 3
    })
    expect(r.moved).toBeGreaterThan(0.05)
    expect(relErr(r.fast.w.kernel, r.tfjs.w.kernel)).toBeLessThan(1e-4)
    expect(relErr(r.fast.w.bias, r.tfjs.w.bias)).toBeLessThan(1e-4)
  })

  it('matches TF.js on batches of one and two samples (no full row block)', () => {
    const r = runBoth({ dim: 6, k: 3, n: 3, batch: 2, optimizer: 'adam', rates: [1e-2, 1e-2, 1e-2], seed: 4 })
    expect(r.moved).toBeGreaterThan(0.1)
    expect(relErr(r.fast.w.kernel, r.tfjs.w.kernel)).toBeLessThan(1e-4)
    expect(relErr(r.fast.w.bias, r.tfjs.w.bias)).toBeLessThan(1e-4)
  })

  it('gives no gradient where p[label] is under the loss clip (1e-7), as TF.js', () => {
    // Features 60x larger: after one step many samples sit at p[label] < 1e-7 and only the rest train.
    const r = runBoth({
      dim: 12,
      k: 5,
      n: 40,
      batch: 8,
      optimizer: 'sgd-momentum',
      rates: [0.5, 0.5],
      seed: 11,
      scale: 60
    })
    expect(Math.max(...r.tfjs.losses)).toBeGreaterThan(-Math.log(1e-7) / 8)
    expect(relErr(r.fast.w.kernel, r.tfjs.w.kernel)).toBeLessThan(1e-4)
    expect(relErr(r.fast.w.bias, r.tfjs.w.bias)).toBeLessThan(1e-4)
    for (let s = 0; s < r.tfjs.losses.length; s++) expect(r.fast.losses[s]).toBeCloseTo(r.tfjs.losses[s], 3)
  })

  it('a whole epoch in one call equals the same steps one by one', () => {
    const dim = 21
    const k = 6
    const n = 50
    const { x, y } = dataset(n, dim, k, 5)
    const order = new Int32Array(n)
    for (let i = 0; i < n; i++) order[i] = (i * 17) % n
    const init = denseWeights(headModel(dim, k, 2))
    const make = (): FastHead =>
      FastHead.create({ dim, numClasses: k, maxBatch: 16, optimizer: 'adam', learningRate: 1e-2 })
    const a = make()
    const b = make()
    a.setWeights(init.kernel, init.bias)
    b.setWeights(init.kernel, init.bias)
    a.setFeatures(x, y, n)
    const rates = [1e-2, 5e-3, 2e-3, 1e-3]
    const epoch = a.trainEpoch(order, { batchSize: 16, rates })
    const losses: number[] = []
    for (let s = 0; s < n; s += 16) {
      const idx = order.subarray(s, Math.min(n, s + 16))
      const xb = new Float32Array(idx.length * dim)
      idx.forEach((row, i) => xb.set(x.subarray(row * dim, (row + 1) * dim), i * dim))
      b.setLearningRate(rates[s / 16])
      losses.push(
        b.step(
          xb,
          Int32Array.from(idx, (row) => y[row]),
          idx.length
        ).loss
      )
    }
    expect(Array.from(epoch.losses)).toEqual(losses)
    expect(epoch.samples).toBe(n)
    expect(Array.from(a.weights().kernel)).toEqual(Array.from(b.weights().kernel))
    expect(Array.from(a.weights().bias)).toEqual(Array.from(b.weights().bias))
    a.dispose()
    b.dispose()
  })

  it('learns a separable problem, and predicts as the TF.js head with its weights', () => {
    const dim = 16
    const k = 4
    const n = 120
    const r = rng(9)
    const x = new Float32Array(n * dim)
    const y = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      y[i] = i % k
      for (let j = 0; j < dim; j++) x[i * dim + j] = 0.3 * r() + (j % k === y[i] ? 1 : 0)
    }
    const head = FastHead.create({ dim, numClasses: k, maxBatch: 32, optimizer: 'adam', learningRate: 1e-2 })
    head.setFeatures(x, y, n)
    const order = Int32Array.from({ length: n }, (_, i) => i)
    const first = head.trainEpoch(order, { batchSize: 32 })
    let last = first
    for (let e = 0; e < 30; e++) last = head.trainEpoch(order, { batchSize: 32 })
    expect(first.lossSum / n).toBeGreaterThan(1)
    expect(last.lossSum / n).toBeLessThan(0.1)
    expect(last.correct).toBe(n)
    // The trained weights in a TF.js dense softmax layer give the head's own probabilities.
    const model = headModel(dim, k, 1)
    const w = head.weights()
    tf.tidy(() => denseSoftmaxHead(model)!.setWeights([tf.tensor2d(w.kernel, [dim, k]), tf.tensor1d(w.bias)]))
    const want = tf.tidy(() => (model.predict(tf.tensor2d(x, [n, dim])) as tf.Tensor).dataSync())
    const got = head.predict(x, n)
    expect(relErr(got, want)).toBeLessThan(1e-5)
    for (let i = 0; i < n; i++) {
      const row = Array.from(got.subarray(i * k, (i + 1) * k))
      expect(row.indexOf(Math.max(...row))).toBe(y[i])
    }
    model.dispose()
    head.dispose()
  })

  it('refuses bad input instead of reading past it', () => {
    const head = FastHead.create({
      dim: 4,
      numClasses: 3,
      maxBatch: 2,
      optimizer: 'adam',
      learningRate: 1e-3
    })
    expect(() => head.step(new Float32Array(12), new Int32Array(3), 3)).toThrow(/1\.\.2/)
    expect(() => head.step(new Float32Array(8), Int32Array.from([0, 3]), 2)).toThrow(/label 3/)
    expect(() => head.setWeights(new Float32Array(11), new Float32Array(3))).toThrow(/expected 12/)
    expect(() => head.trainEpoch(new Int32Array(1), { batchSize: 2 })).toThrow(/setFeatures/)
    head.dispose()
    expect(() => head.weights()).toThrow(/dispose/)
  })
})

describe.skipIf(!sharedDataAvailable())('the trainer on the fused head (strategy 3, real GTSRB)', () => {
  let tmp: ReturnType<typeof tempDir>
  let data: TrainData
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    data = gtsrbTrainData(FIVE, { perClass: 16 })
  })
  afterAll(() => tmp.remove())

  // A schedule (the rate changes every step) and a batch that does not divide the training set.
  const config = bvlcConfig({
    strategy: 'feature-extraction',
    epochs: 3,
    batchSize: 12,
    learningRate: 1e-2,
    lrSchedule: 'one-cycle'
  })

  async function run(
    name: string,
    headTrainer: 'auto' | 'tfjs',
    signal?: AbortSignal,
    onEvent?: (e: TrainingEvent) => void
  ): Promise<{ result: TrainResult; events: TrainingEvent[] }> {
    const events: TrainingEvent[] = []
    const result = await train(config, data, {
      runDir: join(tmp.dir, name),
      featureCacheDir: join(tmp.dir, 'features'),
      headTrainer,
      signal,
      onEvent: (e) => {
        events.push(e)
        onEvent?.(e)
      }
    })
    return { result, events }
  }

  it('ends where the TF.js path ends: history, events, checkpoint and the full model', async () => {
    const before = tf.memory().numTensors
    const fused = await run('fused', 'auto')
    const plain = await run('tfjs', 'tfjs')
    expect(fused.result.headEngine).toBe('fused')
    expect(plain.result.headEngine).toBe('tfjs')
    expect(fused.result.history).toHaveLength(3)
    fused.result.history.forEach((h, i) => {
      const t = plain.result.history[i]
      expect(h.trainLoss).toBeCloseTo(t.trainLoss, 4)
      expect(h.trainAccuracy).toBeCloseTo(t.trainAccuracy, 5)
      expect(h.valLoss!).toBeCloseTo(t.valLoss!, 4)
      expect(h.valAccuracy).toBe(t.valAccuracy)
    })
    // The head learnt, so agreeing is not two idle heads agreeing.
    expect(fused.result.history[2].trainLoss).toBeLessThan(fused.result.history[0].trainLoss)
    const kinds = (ev: TrainingEvent[]): string[] => ev.filter((e) => e.type !== 'phase').map((e) => e.type)
    expect(kinds(fused.events)).toEqual(kinds(plain.events))
    const batchLosses = (ev: TrainingEvent[]): number[] =>
      ev.flatMap((e) => (e.type === 'batch' ? [e.loss] : []))
    const fl = batchLosses(fused.events)
    const pl = batchLosses(plain.events)
    expect(fl.length).toBe(3 * Math.ceil(data.train.length / 12))
    fl.forEach((l, i) => expect(l).toBeCloseTo(pl[i], 4))

    // The trained weights are in the TF.js head, the full image model (which shares the layer) and the
    // checkpoint, as on the TF.js path.
    const weights = (r: TrainResult): Float32Array[] =>
      r.built!.trainable.getWeights().map((w) => w.dataSync() as Float32Array)
    const [fk, fb] = weights(fused.result)
    const [pk, pb] = weights(plain.result)
    expect(relErr(fk, pk)).toBeLessThan(1e-4)
    expect(relErr(fb, pb)).toBeLessThan(1e-4)
    expect(readCheckpoint(join(tmp.dir, 'fused'))!.epoch).toBe(3)
    await restoreCheckpoint(join(tmp.dir, 'fused'), plain.result.built!.trainable)
    expect(Array.from(weights(plain.result)[0])).toEqual(Array.from(fk))
    const image = tf.randomUniform([2, 67, 67, 3], 0, 255, 'float32', 3)
    const fromModel = tf.tidy(() => (fused.result.built!.model.predict(image) as tf.Tensor).dataSync())
    const viaHead = tf.tidy(() => {
      const feats = fused.result.built!.base!.predict(image) as tf.Tensor
      return (fused.result.built!.trainable.predict(feats) as tf.Tensor).dataSync()
    })
    expect(relErr(fromModel, viaHead)).toBeLessThan(1e-5)
    image.dispose()
    fused.result.built!.dispose()
    plain.result.built!.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('cancels within an epoch, and resumes from the checkpoint as the TF.js path does', async () => {
    const ac = new AbortController()
    const { result } = await run('cancel', 'auto', ac.signal, (e) => {
      if (e.type === 'batch' && e.epoch === 2 && e.batch === 2) ac.abort()
    })
    expect(result.status).toBe('cancelled')
    expect(result.epochsDone).toBe(1)
    const resume = (name: string, headTrainer: 'auto' | 'tfjs'): Promise<TrainResult> =>
      train(config, data, {
        runDir: join(tmp.dir, name),
        resumeFrom: join(tmp.dir, 'cancel'),
        featureCacheDir: join(tmp.dir, 'features'),
        headTrainer,
        onEvent: () => {}
      })
    const fused = await resume('resumed-fused', 'auto')
    const plain = await resume('resumed-tfjs', 'tfjs')
    expect(fused.headEngine).toBe('fused')
    expect(fused.epochsDone).toBe(3)
    expect(fused.history).toHaveLength(3)
    fused.history.forEach((h, i) => expect(h.trainLoss).toBeCloseTo(plain.history[i].trainLoss, 4))
    expect(
      relErr(
        fused.built!.trainable.getWeights()[0].dataSync(),
        plain.built!.trainable.getWeights()[0].dataSync()
      )
    ).toBeLessThan(1e-4)
    fused.built!.dispose()
    plain.built!.dispose()
  })
})
