// ONNX export, layer by layer: each tiny model runs in TF.js and in onnxruntime on the same inputs and the
// outputs must agree to 1e-4. Weights are random (biases, BN statistics included) so that a wrong
// transpose, a swapped pad or an ignored bias shows up.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {
  exportOnnx,
  OnnxExportError,
  samePads,
  transpose4,
  SUPPORTED_LAYERS
} from '../../../../src/main/ml/export/onnx'
import { decodeModel } from '../../../../src/main/ml/export/onnxSchema'
import { chain, expectParity, input, randomiseWeights } from './parity'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('samePads / transpose4', () => {
  it('computes TF SAME padding, with the odd cell at the end', () => {
    expect(samePads(227, 11, 4)).toEqual([4, 4])
    expect(samePads(8, 3, 2)).toEqual([0, 1])
    expect(samePads(9, 3, 2)).toEqual([1, 1])
    expect(samePads(7, 2, 2)).toEqual([0, 1])
    expect(samePads(10, 3, 1, 2)).toEqual([2, 2])
    expect(samePads(5, 1, 1)).toEqual([0, 0])
  })

  it('permutes a 4-D array', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i)
    const t = tf.tensor4d(data, [2, 3, 1, 4])
    const expected = tf.transpose(t, [3, 2, 0, 1]).dataSync()
    expect(Array.from(transpose4(data, [2, 3, 1, 4], [3, 2, 0, 1]))).toEqual(Array.from(expected))
  })
})

describe('exportOnnx layer parity with TF.js', () => {
  it('Conv2D SAME with stride 2 on odd and even sizes (asymmetric pads), relu', async () => {
    for (const [h, w] of [
      [9, 8],
      [8, 11]
    ]) {
      const m = chain(
        [h, w, 3],
        [tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })]
      )
      await expectParity(m, input([2, h, w, 3]))
    }
  })

  it('Conv2D VALID, non-square kernel and strides, dilation, no bias, softmax over channels', async () => {
    const a = chain(
      [12, 10, 2],
      [tf.layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], useBias: false })]
    )
    await expectParity(a, input([2, 12, 10, 2]))
    const b = chain(
      [11, 11, 3],
      [tf.layers.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same' })]
    )
    await expectParity(b, input([1, 11, 11, 3]))
    const c = chain([6, 6, 3], [tf.layers.conv2d({ filters: 7, kernelSize: 3, activation: 'softmax' })])
    await expectParity(c, input([2, 6, 6, 3]))
  })

  it('DepthwiseConv2D and ZeroPadding2D', async () => {
    const m = chain(
      [8, 7, 3],
      [
        tf.layers.zeroPadding2d({
          padding: [
            [1, 2],
            [0, 3]
          ]
        }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same' })
      ]
    )
    await expectParity(m, input([2, 8, 7, 3]))
  })

  it('MaxPooling2D and AveragePooling2D, SAME and VALID (SAME average excludes the padding)', async () => {
    for (const padding of ['same', 'valid'] as const) {
      for (const make of [tf.layers.maxPooling2d, tf.layers.averagePooling2d]) {
        const m = chain([9, 8, 3], [make({ poolSize: 3, strides: 2, padding })])
        await expectParity(m, input([2, 9, 8, 3]))
        const n = chain([7, 7, 2], [make({ poolSize: 2, padding })])
        await expectParity(n, input([1, 7, 7, 2]))
      }
    }
  })

  it('BatchNormalization with non-trivial statistics, on feature maps and on vectors', async () => {
    const m = chain([5, 6, 4], [tf.layers.batchNormalization({ epsilon: 0.01 })], 11)
    await expectParity(m, input([3, 5, 6, 4]))
    const v = chain([6], [tf.layers.dense({ units: 5 }), tf.layers.batchNormalization({ center: false })], 12)
    await expectParity(v, input([4, 6]))
  })

  it('Flatten keeps TF NHWC order before Dense (non-square map), Dense with and without bias', async () => {
    const m = chain(
      [3, 5, 4],
      [
        tf.layers.flatten(),
        tf.layers.dense({ units: 7, activation: 'relu' }),
        tf.layers.dense({ units: 3, useBias: false })
      ]
    )
    await expectParity(m, input([3, 3, 5, 4]))
    // Flatten as the output: the raw flattened vector must be in TF's order, element for element.
    const f = chain([2, 3, 4], [tf.layers.conv2d({ filters: 4, kernelSize: 1 }), tf.layers.flatten()])
    await expectParity(f, input([2, 2, 3, 4]))
  })

  it('Activation layers, ReLU(maxValue), Softmax, Dropout, global pooling', async () => {
    for (const act of ['relu', 'sigmoid', 'tanh', 'elu', 'softplus', 'softmax', 'relu6', 'selu', 'linear']) {
      const m = chain(
        [6],
        [tf.layers.dense({ units: 5 }), tf.layers.activation({ activation: act as 'relu' })]
      )
      const x = tf.mul(input([3, 6], 3), 4)
      await expectParity(m, x)
    }
    const r = chain(
      [4, 4, 3],
      [tf.layers.reLU({ maxValue: 0.3 }), tf.layers.globalAveragePooling2d({}), tf.layers.softmax()]
    )
    await expectParity(r, input([2, 4, 4, 3]))
    const d = chain(
      [5, 5, 3],
      [
        tf.layers.conv2d({ filters: 4, kernelSize: 3 }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.globalMaxPooling2d({})
      ]
    )
    await expectParity(d, input([2, 5, 5, 3]))
  })

  it('a rank-4 output comes back NHWC, and a model ending in Dropout still names its output', async () => {
    const m = chain(
      [6, 5, 3],
      [tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), tf.layers.dropout({ rate: 0.2 })]
    )
    await expectParity(m, input([2, 6, 5, 3]))
  })

  it('symbolic spatial size (input [null, null, null, 3]) uses SAME_UPPER and still matches', async () => {
    const inp = tf.input({ shape: [null, null, 3] as unknown as number[] })
    const y = tf.layers
      .conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' })
      .apply(inp) as tf.SymbolicTensor
    const z = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor
    const m = tf.model({ inputs: inp, outputs: z })
    randomiseWeights(m, 5)
    await expectParity(m, input([2, 8, 9, 3]))
    await expectParity(m, input([1, 7, 6, 3]))
  })

  it('a functional chain and a nested base model export like the sequential one', async () => {
    const base = chain(
      [6, 6, 3],
      [tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }), tf.layers.flatten()],
      3
    )
    const inp = tf.input({ shape: [6, 6, 3] })
    const feats = base.apply(inp) as tf.SymbolicTensor
    const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(feats) as tf.SymbolicTensor
    const m = tf.model({ inputs: inp, outputs: out })
    await expectParity(m, input([2, 6, 6, 3]))
  })
})

describe('exportOnnx model structure and errors', () => {
  it('writes opset 13, NHWC input `input`, output `output`, and the producer', () => {
    const m = chain(
      [8, 8, 3],
      [tf.layers.conv2d({ filters: 2, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 4 })]
    )
    const model = decodeModel(exportOnnx(m, { producer: 'unit-test' }))
    expect(model.producerName).toBe('unit-test')
    expect(model.opsetImport).toEqual([{ domain: '', version: 13 }])
    expect(model.graph.input[0].name).toBe('input')
    expect(model.graph.input[0].type.tensorType.shape.dim).toEqual([
      { dimParam: 'batch' },
      { dimValue: 8 },
      { dimValue: 8 },
      { dimValue: 3 }
    ])
    expect(model.graph.output[0].name).toBe('output')
    expect(model.graph.output[0].type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 4 }])
    expect(model.graph.node.map((n) => n.opType)).toEqual([
      'Transpose',
      'Conv',
      'Transpose',
      'Flatten',
      'Gemm'
    ])
    // conv kernel [3,3,3,2] -> [2,3,3,3]
    const w = model.graph.initializer.find((t) => t.dims.length === 4)!
    expect(w.dims).toEqual([2, 3, 3, 3])
    expect(exportOnnx(m, { opset: 17 }).length).toBeGreaterThan(0)
    expect(decodeModel(exportOnnx(m, { opset: 17 })).opsetImport[0].version).toBe(17)
  })

  it('outputLayer cuts the graph; an unknown name is a clear error', () => {
    const m = chain(
      [4, 4, 3],
      [
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 5, name: 'fc_a' }),
        tf.layers.dense({ units: 2, name: 'fc_b' })
      ]
    )
    const cut = decodeModel(exportOnnx(m, { outputLayer: 'fc_a' }))
    expect(cut.graph.output[0].type.tensorType.shape.dim[1]).toEqual({ dimValue: 5 })
    expect(() => exportOnnx(m, { outputLayer: 'fc9' })).toThrow(
      /Layer 'fc9' is not in the model; layers: flat, fc_a, fc_b/
    )
  })

  it('an unsupported layer names the layer and its class', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.inputLayer({ inputShape: [8, 3] }),
        tf.layers.conv1d({ filters: 2, kernelSize: 3, name: 'my_conv1d' })
      ]
    })
    let err: unknown
    try {
      exportOnnx(m)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(OnnxExportError)
    expect((err as OnnxExportError).message).toMatch(/Layer 'my_conv1d' of class Conv1D cannot be exported/)
    expect((err as OnnxExportError).layerName).toBe('my_conv1d')
    expect((err as OnnxExportError).className).toBe('Conv1D')
    expect(SUPPORTED_LAYERS).not.toContain('Conv1D')
  })

  it('an unsupported activation, causal padding or a shared layer is refused with the layer name', () => {
    const a = chain([5], [tf.layers.dense({ units: 3, activation: 'hardSigmoid', name: 'hs' })])
    expect(() => exportOnnx(a)).toThrow(/Layer 'hs' \(Dense\): activation 'hardSigmoid' does not export/)

    // Branches and merges export (torchvisionOnnx.test.ts); a layer applied twice (shared weights) does not.
    const inp = tf.input({ shape: [4] })
    const shared = tf.layers.dense({ units: 4, name: 'twice' })
    const once = shared.apply(inp) as tf.SymbolicTensor
    const again = shared.apply(once) as tf.SymbolicTensor
    expect(() => exportOnnx(tf.model({ inputs: inp, outputs: again }))).toThrow(
      /Layer 'twice' \(Dense\) is applied 2 times \(shared\); shared layers do not export/
    )

    const rank3 = tf.sequential({
      layers: [tf.layers.inputLayer({ inputShape: [4, 3] }), tf.layers.dense({ units: 2 })]
    })
    expect(() => exportOnnx(rank3)).toThrow(/rank 4 \(NHWC images\) or rank 2/)
    expect(() => exportOnnx(a, { opset: 11 })).toThrow(/Unsupported opset 11/)
  })
})
