// OnnxRunner: loading from bytes and from a file, batch handling, input checks, and the guarded load that
// lets callers fall back to TF.js when onnxruntime-node is missing.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { exportOnnx } from '../../../../src/main/ml/export/onnx'
import {
  loadOnnxRuntime,
  OnnxRunner,
  OnnxRuntimeUnavailable,
  onnxRuntimeAvailable
} from '../../../../src/main/ml/evaluate/onnxRuntime'
import { tempDir } from '../../../helpers'
import { chain, input } from '../export/parity'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const cleanups: (() => void)[] = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

function smallModel(): tf.Sequential {
  return chain(
    [6, 6, 3],
    [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: 'softmax' })
    ]
  )
}

describe('OnnxRunner', () => {
  it('onnxruntime-node loads here', () => {
    expect(onnxRuntimeAvailable()).toBe(true)
    expect(typeof loadOnnxRuntime().InferenceSession.create).toBe('function')
  })

  it('a missing onnxruntime gives OnnxRuntimeUnavailable with the reason', async () => {
    expect(() => loadOnnxRuntime('onnxruntime-node-that-does-not-exist')).toThrow(OnnxRuntimeUnavailable)
    await expect(
      OnnxRunner.create(new Uint8Array([1, 2, 3]), { moduleId: 'onnxruntime-node-that-does-not-exist' })
    ).rejects.toThrow(
      /onnxruntime is not available \(onnxruntime-node-that-does-not-exist: Cannot find module/
    )
  })

  it('runs a batch from bytes and from a file, example by example like TF.js', async () => {
    const m = smallModel()
    const bytes = exportOnnx(m)
    const { dir, remove } = tempDir()
    cleanups.push(remove)
    const path = join(dir, 'm.onnx')
    writeFileSync(path, bytes)
    const x = input([5, 6, 6, 3], 9)
    const expected = (m.predict(x) as tf.Tensor).dataSync()
    for (const source of [bytes, path]) {
      const runner = await OnnxRunner.create(source, { threads: 1 })
      expect(runner.outputSize).toBe(5)
      expect(runner.inputShape).toEqual([6, 6, 3])
      const out = await runner.run(x.dataSync() as Float32Array, 5, [6, 6, 3])
      expect(out.length).toBe(25)
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(1e-5)
      // One example alone gives the same numbers as inside the batch.
      const third = await runner.run(x.slice([2], [1]).dataSync() as Float32Array, 1, [6, 6, 3])
      for (let i = 0; i < 5; i++) expect(Math.abs(third[i] - out[10 + i])).toBeLessThan(1e-6)
      await runner.dispose()
      await runner.dispose()
      await expect(runner.run(new Float32Array(108), 1, [6, 6, 3])).rejects.toThrow(/disposed/)
    }
  })

  it('spin: false (sleeping worker threads) gives the same numbers', async () => {
    const bytes = exportOnnx(smallModel())
    const x = input([3, 6, 6, 3], 4).dataSync() as Float32Array
    const a = await OnnxRunner.create(bytes, { threads: 2, spin: false })
    const b = await OnnxRunner.create(bytes, { threads: 2 })
    try {
      const ya = await a.run(x, 3, [6, 6, 3])
      const yb = await b.run(x, 3, [6, 6, 3])
      for (let i = 0; i < ya.length; i++) expect(Math.abs(ya[i] - yb[i])).toBeLessThan(1e-6)
    } finally {
      await a.dispose()
      await b.dispose()
    }
  })

  it('refuses a batch of the wrong size or shape, and garbage bytes', async () => {
    const runner = await OnnxRunner.create(exportOnnx(smallModel()), { threads: 2 })
    try {
      await expect(runner.run(new Float32Array(100), 1, [6, 6, 3])).rejects.toThrow(
        /100 floats, expected 1 x/
      )
      await expect(runner.run(new Float32Array(2 * 7 * 7 * 3), 2, [7, 7, 3])).rejects.toThrow(
        /Input shape \[7, 7, 3\] does not match the model's \[6, 6, 3\]/
      )
      await expect(runner.run(new Float32Array(0), 0, [6, 6, 3])).rejects.toThrow(/batchSize must be >= 1/)
    } finally {
      await runner.dispose()
    }
    await expect(OnnxRunner.create(new Uint8Array([8, 7, 1, 2, 3]))).rejects.toThrow()
    await expect(OnnxRunner.create(exportOnnx(smallModel()), { threads: 0 })).rejects.toThrow(/threads/)
  })
})
