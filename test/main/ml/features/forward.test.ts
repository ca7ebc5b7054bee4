// The frozen forward pass: ONNX when it can run, and a said fallback to TF.js when it cannot.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { makeForward } from '../../../../src/main/ml/features/extract'
import { onnxRuntimeAvailable } from '../../../../src/main/ml/evaluate/onnxRuntime'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 3] })
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor
  const out = tf.layers
    .dense({ units: 5, kernelInitializer: 'glorotUniform' })
    .apply(flat) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: out })
}

describe.skipIf(!onnxRuntimeAvailable())('makeForward', () => {
  let model: tf.LayersModel
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu', logger: () => {} })
    model = tinyModel()
  })
  afterAll(() => model.dispose())

  it('runs in onnxruntime and matches TF.js', async () => {
    const x = Float32Array.from({ length: 2 * 48 }, (_, i) => Math.sin(i))
    const onnx = await makeForward(model, 5, 'auto')
    const tfjs = await makeForward(model, 5, 'tfjs')
    try {
      expect(onnx.engine).toBe('onnx')
      expect(onnx.fallbackReason).toBeUndefined()
      const a = await onnx.run(x, 2, [4, 4, 3])
      const b = await tfjs.run(x, 2, [4, 4, 3])
      for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 4)
    } finally {
      await onnx.close()
      await tfjs.close()
    }
  })

  it('falls back to TF.js with the reason said when the ONNX pass cannot serve the model', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      // A wrong expected width stands for any failure after onnxruntime loaded (an exporter gap or bug).
      const forward = await makeForward(model, 7, 'auto')
      expect(forward.engine).toBe('tfjs')
      expect(forward.fallbackReason).toMatch(/ONNX base outputs 5 floats, expected 7/)
      expect(warn).toHaveBeenCalledTimes(1)
      expect(String(warn.mock.calls[0][0])).toMatch(/frozen pass runs in TF\.js/)
      await forward.close()
    } finally {
      warn.mockRestore()
    }
  })
})
