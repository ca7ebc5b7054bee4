// A float32 tensor's values without a copy, and a tensor from values with exactly one, for the data-parallel
// trainer (src/main/ml/train/dataParallel.ts and gradWorker.ts), which moves every weight and gradient of the
// model between threads each step: a full AlexNet's 61 M parameters are 233 MiB, and each `dataSync()` made a
// fresh copy of that in the JS heap, left for the collector (it showed in the process's peak RSS).
// On the wasm backend the values are read where they are, on its heap; on other backends through dataSync.
import * as tf from '@tensorflow/tfjs'
import type { HeapBackend } from './native/heap'

/** The wasm backend when it is the current one and holds `t`, else null. */
function heap(t: tf.Tensor): HeapBackend | null {
  if (tf.getBackend() !== 'wasm') return null
  const b = tf.backend() as unknown as Partial<HeapBackend>
  return typeof b.typedArrayFromHeap === 'function' && b.dataIdMap?.get(t.dataId) ? (b as HeapBackend) : null
}

/**
 * The values of float32 tensor `t`. On wasm a view of its heap: read it (or copy it out) before the next
 * tensor is allocated, which may move the heap, and before `t` is disposed. Elsewhere dataSync's array.
 */
export function float32Values(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`float32Values: ${t.dtype} tensor`)
  const h = heap(t)
  return h ? (h.typedArrayFromHeap(t) as Float32Array) : (t.dataSync() as Float32Array)
}

/**
 * A float32 tensor holding a copy of `values` (which the caller may overwrite afterwards, e.g. a shared
 * buffer reused every step). The wasm backend copies them onto its heap itself; the cpu backend would keep
 * the array as is, so it gets a copy.
 */
export function tensorFromValues(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape, 'float32')
}
