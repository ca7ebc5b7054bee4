// The train step the trainer runs on wasm, timed for the benchmarks: the batch split over `threads` threads
// (GradientWorker: threads-1 workers beside this one), the averaged gradients applied by one optimizer here.
import * as tf from '@tensorflow/tfjs'
import { GradientWorker } from '../../src/main/ml/train/dataParallel'
import { GRAD_WORKER } from './cli'
import { best } from './args'

/** Best ms of `reps` data-parallel steps of `model` on one batch (`xs`: batch x side x side x 3). */
export async function timeParallelStep(opts: {
  model: tf.LayersModel
  xs: Float32Array
  labels: Int32Array
  side: number
  threads: number
  optimizer: tf.Optimizer
  reps: number
  /** The same dropout masks every step (true), or a new step number each time as in training. */
  sameStep?: boolean
}): Promise<number> {
  const { model, xs, labels, side, threads, optimizer, reps } = opts
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const pool = await GradientWorker.start(model, {
    backend: 'wasm',
    numClasses: 43,
    seed: 1,
    threads,
    entry: GRAD_WORKER
  })
  if (!pool) throw new Error('the gradient workers did not start')
  let step = 0
  try {
    return await best(async () => {
      const r = await pool.gradients(
        model,
        vars,
        { x: xs, y: labels, size: labels.length },
        [side, side, 3],
        43,
        { layers: [], seed: 1, step: opts.sameStep ? 0 : step++ }
      )
      optimizer.applyGradients(r.grads as Parameters<typeof optimizer.applyGradients>[0])
      tf.dispose(Object.values(r.grads))
    }, reps)
  } finally {
    await pool.close()
  }
}
