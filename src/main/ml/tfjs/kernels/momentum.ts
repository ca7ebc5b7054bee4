// SGD with momentum whose update runs in one WebAssembly SIMD pass per variable on the wasm backend
// (native/momentum.c), for full-size models. tfjs's MomentumOptimizer runs four kernels per variable
// (m * acc, + g, -lr * acc, + value), and each allocates a variable-sized result: for AlexNet's fc6
// (9216 x 4096, 144 MiB) three of them are alive at once, so the update alone grew the trainer's wasm heap by
// about 430 MiB (measured: 857 -> 1,528 MiB on the first step of a full AlexNet, batch 16, with the
// accumulators), and took ~150 ms of a batch-16 step. Here the accumulator is updated in place and the new
// weights are the one allocation. The weights themselves are never written in place: XNNPACK caches operators
// (with the weights packed) by tensor, so the new values must live in a new tensor, as in tfjs.
//
// The results are bit for bit tfjs's (same float32 operations, same order). Everything else (Nesterov, other
// backends or dtypes, an accumulator shared with another tensor, no SIMD) takes tfjs's own update, and the
// optimizer is a tf.MomentumOptimizer in every other respect (config, weights, serialisation).
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { WASM_BASE64 as MOMENTUM_WASM } from './native/momentum.wasm'
import { type HeapBackend, heapExports, heapOffset } from './native/heap'

/** MomentumOptimizer's private state, as tfjs 4.22 keeps it. */
interface MomentumState {
  accumulations: Array<{ originalName: string; variable: tf.Variable } | undefined>
  momentum: number
  useNesterov: boolean
  learningRate: number
}

type Gradients = Parameters<tf.MomentumOptimizer['applyGradients']>[0]

export class HeapMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    const self = this as unknown as MomentumState
    const backend = tf.backend() as unknown as HeapBackend & { refCount?(dataId: object): number }
    const simd =
      !self.useNesterov && tf.getBackend() === 'wasm' && typeof backend.refCount === 'function'
        ? heapExports(backend, 'momentum', MOMENTUM_WASM)
        : null
    if (!simd) return super.applyGradients(variableGradients)
    const list = Array.isArray(variableGradients)
      ? variableGradients.map((g) => ({ name: g.name, grad: g.tensor }))
      : Object.keys(variableGradients).map((name) => ({ name, grad: variableGradients[name] as tf.Tensor }))
    const fallback: string[] = []
    list.forEach(({ name, grad }, i) => {
      const value = tf.engine().registeredVariables[name]
      if (!self.accumulations[i]) {
        self.accumulations[i] = {
          originalName: `${name}/momentum`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false))
        }
      }
      if (grad == null) return
      const acc = self.accumulations[i]!.variable
      const fits =
        value.dtype === 'float32' &&
        grad.dtype === 'float32' &&
        acc.dtype === 'float32' &&
        grad.size === value.size &&
        acc.size === value.size &&
        backend.refCount!(acc.dataId) === 1
      if (!fits) {
        fallback.push(name)
        return
      }
      const out = backend.makeOutput(value.shape, 'float32')
      const at = (t: TensorInfo) => heapOffset(backend, t)
      const step = simd.momentum_step as (...args: number[]) => void
      step(at(value), at(acc), at(grad), at(out), value.size, self.momentum, -self.learningRate)
      const next = tf.engine().makeTensorFromTensorInfo(out)
      value.assign(next)
      next.dispose()
    })
    if (fallback.length === 0) {
      this.incrementIterations()
      return
    }
    // tfjs's update for the rest; it matches accumulators by position, so it is given every variable in
    // order, those done above with a null gradient (which it skips).
    const rest = new Set(fallback)
    const all: Record<string, tf.Tensor | null> = {}
    for (const { name, grad } of list) all[name] = rest.has(name) ? grad : null
    super.applyGradients(all as unknown as Gradients)
  }
}
