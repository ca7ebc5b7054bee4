// The torchvision ports as TF.js models on the project's wasm backend, without PyTorch: torchvision's
// parameter counts, one layer weight per state-dict tensor (in TF's layout), PyTorch-style padding, the
// custom layers' semantics, and a save/load round trip through the registered class names.
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../../src/main/ml/tfjs/backend'
import {
  HardSigmoid,
  HardSwish,
  StochasticDepth,
  TORCHVISION_ARCHS,
  TORCHVISION_PARAMS,
  createTorchvisionModel,
  expectedStateDict,
  registerTorchvisionLayers,
  torchvisionSpec
} from '../../../../../src/main/ml/models/torchvision'

const WEIGHT_INDEX: Record<string, number> = { weight: 0, bias: 1, running_mean: 2, running_var: 3 }

/** Values in `weights` (their shapes are fully defined). */
const count = (weights: tf.LayerVariable[]): number =>
  weights.reduce((s, w) => s + tf.util.sizeFromShape(w.shape as number[]), 0)

/** The shape a torch tensor takes in the TF layer (see stateDict.ts). */
function tfShape(className: string, torch: number[]): number[] {
  if (torch.length === 4 && className === 'DepthwiseConv2D') return [torch[2], torch[3], torch[0], 1]
  if (torch.length === 4) return [torch[2], torch[3], torch[1], torch[0]]
  if (torch.length === 2) return [torch[1], torch[0]]
  return torch
}

describe('torchvision models in TF.js', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', logger: () => {} })
  })

  it.each(TORCHVISION_ARCHS)(
    '%s: torchvision’s parameter count, a TF weight for every state-dict tensor, symmetric padding',
    (arch) => {
      const m = createTorchvisionModel(arch, { numClasses: 1000, seed: 3 })
      try {
        expect(count(m.model.trainableWeights)).toBe(TORCHVISION_PARAMS[arch])
        expect(m.model.outputs[0].shape).toEqual([null, 1000])
        expect(m.featureModel.outputs[0].shape).toEqual([null, m.featureDim])
        expect(m.featureModel.inputs[0].shape).toEqual([null, 224, 224, 3])
        expect((m.model.getLayer(m.head).getConfig() as { activation: string }).activation).toBe('softmax')
        for (const [name, shape] of expectedStateDict(torchvisionSpec(arch))) {
          const dot = name.lastIndexOf('.')
          const layer = m.model.getLayer(name.slice(0, dot))
          const w = layer.weights[WEIGHT_INDEX[name.slice(dot + 1)]]
          expect(w?.shape, name).toEqual(tfShape(layer.getClassName(), shape))
        }
        // TF's 'same' pads bottom/right only at stride 2; strided layers must pad explicitly.
        for (const layer of m.model.layers) {
          const c = layer.getConfig() as { strides?: number[]; padding?: unknown }
          if (c.strides && c.strides.some((s) => s > 1)) expect(c.padding, layer.name).toBe('valid')
        }
      } finally {
        m.dispose()
      }
    }
  )

  it('HardSwish and HardSigmoid are PyTorch’s (relu6(x + 3) / 6), not Keras’s hard_sigmoid', () => {
    const xs = [-5, -3, -1.5, 0, 0.5, 3, 7]
    const x = tf.tensor1d(xs)
    const hs = (new HardSwish({}).apply(x) as tf.Tensor).dataSync()
    const hsig = (new HardSigmoid({}).apply(x) as tf.Tensor).dataSync()
    const relu6 = (v: number) => Math.min(6, Math.max(0, v))
    xs.forEach((v, i) => {
      expect(hs[i]).toBeCloseTo((v * relu6(v + 3)) / 6, 6)
      expect(hsig[i]).toBeCloseTo(relu6(v + 3) / 6, 6)
    })
    x.dispose()
  })

  it('StochasticDepth: identity at inference; in training drops whole samples and scales the rest', () => {
    const layer = new StochasticDepth({ rate: 0.5 })
    const x = tf.ones([400, 2, 2, 3])
    expect(
      tf
        .equal(layer.apply(x) as tf.Tensor, x)
        .all()
        .dataSync()[0]
    ).toBe(1)
    const y = (layer.apply(x, { training: true }) as tf.Tensor).reshape([400, 12]).arraySync() as number[][]
    for (const row of y) expect(new Set(row).size).toBe(1)
    const kept = y.filter((row) => row[0] === 2).length
    expect(y.every((row) => row[0] === 0 || row[0] === 2)).toBe(true)
    expect(kept).toBeGreaterThan(140)
    expect(kept).toBeLessThan(260)
    x.dispose()
  })

  it.each(['mobilenet_v3_small', 'efficientnet_b0'] as const)(
    '%s: saves and loads back through the registered layers, with the same outputs',
    async (arch) => {
      const m = createTorchvisionModel(arch, { numClasses: 5, inputSize: 64, seed: 11 })
      const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 5)
      let artifacts: tf.io.ModelArtifacts | undefined
      await m.model.save(
        tf.io.withSaveHandler(async (a) => {
          artifacts = a
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
        })
      )
      const topology = JSON.stringify(artifacts!.modelTopology)
      const classes = {
        mobilenet_v3_small: ['HardSwish', 'HardSigmoid', 'DepthwiseConv2D', 'ZeroPadding2D'],
        efficientnet_b0: ['StochasticDepth', 'DepthwiseConv2D', 'ZeroPadding2D']
      }[arch]
      for (const cls of classes) expect(topology).toContain(`"class_name":"${cls}"`)
      registerTorchvisionLayers()
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!))
      const a = m.model.predict(x) as tf.Tensor
      const b = loaded.predict(x) as tf.Tensor
      expect(a.shape).toEqual([2, 5])
      expect(tf.sum(a, 1).arraySync() as number[]).toEqual([expect.closeTo(1, 5), expect.closeTo(1, 5)])
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0)
      tf.dispose([x, a, b])
      m.dispose()
      loaded.dispose()
    }
  )
})
