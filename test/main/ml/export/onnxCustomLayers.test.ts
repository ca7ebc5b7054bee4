// ONNX export of the two custom AlexNet layers (GroupedConv2D -> Conv with `group`, LocalResponseNormalization
// -> x / (1x1 Conv of x*x with a banded alpha matrix + bias)^beta), checked against TF.js on random weights
// and inputs, for AlexNet's beta 0.75 (Sqrt path), 0.5, 1 and a general beta (Pow).
import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import {
  GroupedConv2D,
  LocalResponseNormalization,
  registerCustomLayers
} from '../../../../src/main/ml/layers'
import { chain, compare, expectParity, input } from './parity'

beforeAll(async () => {
  await tf.setBackend('cpu')
  registerCustomLayers()
})

describe('exportOnnx: custom layers', () => {
  it('GroupedConv2D (groups 2 and 4, SAME stride 2, relu) matches', async () => {
    const a = chain(
      [9, 9, 8],
      [
        new GroupedConv2D({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          groups: 2,
          activation: 'relu'
        })
      ]
    )
    await expectParity(a, input([2, 9, 9, 8]))
    const b = chain(
      [7, 7, 8],
      [new GroupedConv2D({ filters: 8, kernelSize: 5, padding: 'same', groups: 4, useBias: false })]
    )
    await expectParity(b, input([1, 7, 7, 8]))
  })

  it('GroupedConv2D export differs from an ungrouped reading of the same kernel', async () => {
    // Guards the test above: if groups were ignored the ONNX Conv would reject the kernel shape, and if
    // the groups were swapped the outputs would differ. Swapping the two halves of the input must change
    // the output, proving the grouping is not symmetric by accident.
    const m = chain([5, 5, 4], [new GroupedConv2D({ filters: 4, kernelSize: 3, padding: 'same', groups: 2 })])
    const x = input([1, 5, 5, 4])
    const swapped = tf.concat(tf.split(x, 2, 3).reverse(), 3)
    const p1 = await compare(m, x)
    const p2 = await compare(m, swapped)
    expect(p1.maxAbsDiff).toBeLessThan(1e-4)
    let diff = 0
    for (let i = 0; i < p1.onnxOut.length; i++) diff = Math.max(diff, Math.abs(p1.onnxOut[i] - p2.onnxOut[i]))
    expect(diff).toBeGreaterThan(1e-2)
  })

  it('LocalResponseNormalization (AlexNet values and a wide, strong one)', async () => {
    const a = chain(
      [4, 4, 16],
      [new LocalResponseNormalization({ depthRadius: 2, alpha: 2e-5, beta: 0.75, bias: 1 })]
    )
    await expectParity(a, tf.mul(input([2, 4, 4, 16]), 50))
    // Large alpha makes the normalisation visible; radius 3 checks the window width.
    const b = chain(
      [3, 3, 10],
      [new LocalResponseNormalization({ depthRadius: 3, alpha: 0.5, beta: 0.6, bias: 2 })]
    )
    const x = input([2, 3, 3, 10])
    const p = await compare(b, x)
    expect(p.maxAbsDiff).toBeLessThan(1e-4)
    // Sanity: the layer really changed the values, so the comparison tests the LRN and not an identity.
    expect(Math.max(...Array.from(p.tfOut).map((v, i) => Math.abs(v - x.dataSync()[i])))).toBeGreaterThan(
      1e-2
    )
    // The special-cased exponents, with windows that reach past both channel edges (radius 4 of 6).
    for (const beta of [0.5, 0.75, 1]) {
      const m = chain(
        [3, 3, 6],
        [new LocalResponseNormalization({ depthRadius: 4, alpha: 0.3, beta, bias: 1.5 })]
      )
      const q = await compare(m, input([2, 3, 3, 6]))
      expect(q.maxAbsDiff).toBeLessThan(1e-4)
    }
  })
})
