// The TF-free half of the torchvision ports: the architecture specs (names, shapes, parameter counts,
// epsilons, channel rounding), the state-dict check and the layout conversions. No TF.js, no PyTorch.
import { describe, expect, it } from 'vitest'
import {
  TORCHVISION_ARCHS,
  TORCHVISION_INPUT_SIZE,
  TORCHVISION_PARAMS,
  expectedStateDict,
  makeDivisible,
  parameterCount,
  torchvisionSpec,
  type ArchSpec,
  type TorchStateDict
} from '../../../../../src/main/ml/models/torchvision'
import {
  checkStateDict,
  convKernelToTf,
  depthwiseKernelToTf,
  linearKernelToTf
} from '../../../../../src/main/ml/models/torchvision/stateDict'

const FEATURES = {
  alexnet: 4096,
  resnet18: 512,
  resnet50: 2048,
  mobilenet_v2: 1280,
  mobilenet_v3_large: 1280,
  mobilenet_v3_small: 1024,
  efficientnet_b0: 1280
} as const

const HEADS = {
  alexnet: 'classifier.6',
  resnet18: 'fc',
  resnet50: 'fc',
  mobilenet_v2: 'classifier.1',
  mobilenet_v3_large: 'classifier.3',
  mobilenet_v3_small: 'classifier.3',
  efficientnet_b0: 'classifier.1'
} as const

/** A state dict of zeros with exactly the spec's tensors. */
function zeros(spec: ArchSpec): TorchStateDict {
  const sd: TorchStateDict = new Map()
  for (const [name, shape] of expectedStateDict(spec))
    sd.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) })
  return sd
}

describe('torchvision specs', () => {
  it('_make_divisible rounds as torchvision does (values from torchvision 0.14)', () => {
    const cases: [number, number][] = [
      [10, 16],
      [18, 24],
      [22, 24],
      [30, 32],
      [60, 64],
      [120, 120],
      [1280, 1280],
      [25.6, 24]
    ]
    for (const [v, want] of cases) expect(makeDivisible(v, 8)).toBe(want)
    expect(makeDivisible(12, 8, 16)).toBe(16)
  })

  it.each(TORCHVISION_ARCHS)(
    '%s: parameter count, features, head and input size are torchvision’s',
    (arch) => {
      const spec = torchvisionSpec(arch)
      expect(parameterCount(spec)).toBe(TORCHVISION_PARAMS[arch])
      expect(spec.featureDim).toBe(FEATURES[arch])
      expect(spec.head).toBe(HEADS[arch])
      expect(TORCHVISION_INPUT_SIZE[arch]).toBe(224)
      expect(expectedStateDict(spec).get(`${spec.head}.weight`)).toEqual([1000, FEATURES[arch]])
      // Every node's output is at least 1x1 at 224 px.
      for (const s of spec.shapes.values()) for (const d of s) expect(d).toBeGreaterThanOrEqual(1)
    }
  )

  it('batch-norm epsilon and momentum per architecture (MobileNetV3 1e-3 / 0.01, the rest 1e-5 / 0.1)', () => {
    for (const arch of TORCHVISION_ARCHS) {
      const bns = torchvisionSpec(arch).nodes.filter((n) => n.op === 'batchnorm')
      const v3 = arch.startsWith('mobilenet_v3')
      if (arch === 'alexnet') expect(bns).toHaveLength(0)
      else expect(bns.length).toBeGreaterThan(0)
      for (const n of bns) {
        expect(n.epsilon).toBe(v3 ? 1e-3 : 1e-5)
        expect(n.momentum).toBe(v3 ? 0.01 : 0.1)
      }
    }
  })

  it('symmetric PyTorch padding: (k - 1) / 2 for the blocks, 2 for AlexNet conv1, 3 and a padded pool for ResNet', () => {
    const node = (arch: (typeof TORCHVISION_ARCHS)[number], name: string) =>
      torchvisionSpec(arch).nodes.find((n) => n.name === name)
    expect(node('alexnet', 'features.0')).toMatchObject({ kernel: 11, stride: 4, padding: 2 })
    expect(node('resnet50', 'conv1')).toMatchObject({ kernel: 7, stride: 2, padding: 3 })
    expect(node('resnet50', 'maxpool')).toMatchObject({ kernel: 3, stride: 2, padding: 1 })
    // V1.5: the stride sits in the 3x3 conv2 of a bottleneck.
    expect(node('resnet50', 'layer2.0.conv1')).toMatchObject({ stride: 1 })
    expect(node('resnet50', 'layer2.0.conv2')).toMatchObject({ stride: 2, padding: 1 })
    expect(node('mobilenet_v3_large', 'features.4.block.1.0')).toMatchObject({
      kernel: 5,
      stride: 2,
      padding: 2,
      groups: 72
    })
    expect(node('efficientnet_b0', 'features.3.0.block.1.0')).toMatchObject({
      kernel: 5,
      stride: 2,
      padding: 2
    })
  })

  it('channel rounding and squeeze widths follow torchvision', () => {
    const sd = (arch: (typeof TORCHVISION_ARCHS)[number]) => expectedStateDict(torchvisionSpec(arch))
    // MobileNetV3-small block 1: expansion 16 == input, so no expand conv; SE squeeze _make_divisible(16 // 4, 8) = 8.
    expect(sd('mobilenet_v3_small').get('features.1.block.0.0.weight')).toEqual([16, 1, 3, 3])
    expect(sd('mobilenet_v3_small').get('features.1.block.1.fc1.weight')).toEqual([8, 16, 1, 1])
    // MobileNetV3-large block 4: 72 // 4 = 18 -> 24.
    expect(sd('mobilenet_v3_large').get('features.4.block.2.fc1.weight')).toEqual([24, 72, 1, 1])
    expect(sd('mobilenet_v3_large').get('features.16.0.weight')).toEqual([960, 160, 1, 1])
    expect(sd('mobilenet_v3_large').get('classifier.0.weight')).toEqual([1280, 960])
    // EfficientNet's SE squeezes to max(1, input // 4) of the block's input channels.
    expect(sd('efficientnet_b0').get('features.2.1.block.2.fc1.weight')).toEqual([6, 144, 1, 1])
    expect(sd('efficientnet_b0').get('features.8.0.weight')).toEqual([1280, 320, 1, 1])
    // MobileNetV2: hidden = round(inp * t); the first block has no expansion conv.
    expect(sd('mobilenet_v2').get('features.1.conv.0.0.weight')).toEqual([32, 1, 3, 3])
    expect(sd('mobilenet_v2').get('features.2.conv.0.0.weight')).toEqual([96, 16, 1, 1])
    expect(sd('resnet50').get('layer1.0.downsample.0.weight')).toEqual([256, 64, 1, 1])
    expect(sd('resnet18').has('layer1.0.downsample.0.weight')).toBe(false)
  })

  it('EfficientNet-B0: stochastic depth 0.2 * block / 16 on the residual blocks only', () => {
    const sds = torchvisionSpec('efficientnet_b0').nodes.filter((n) => n.op === 'stochasticdepth')
    expect(sds.map((n) => n.name)).toContain('features.2.1.stochastic_depth')
    expect(sds.find((n) => n.name === 'features.2.1.stochastic_depth')).toMatchObject({
      rate: 0.2 * (2 / 16)
    })
    expect(sds.find((n) => n.name === 'features.6.3.stochastic_depth')).toMatchObject({
      rate: 0.2 * (14 / 16)
    })
    // The first block of a stage changes shape: no residual, no stochastic depth.
    expect(sds.some((n) => n.name.endsWith('.0.stochastic_depth'))).toBe(false)
    expect(sds).toHaveLength(9)
  })

  it('AlexNet: 6x6 before the classifier at 224, and a clear error when the input gives no multiple of 6', () => {
    const spec = torchvisionSpec('alexnet')
    expect(spec.shapes.get('features.12')).toEqual([6, 6, 256])
    expect(spec.nodes.find((n) => n.name === 'classifier.1')).toMatchObject({ flattenedChw: [256, 6, 6] })
    expect(() => torchvisionSpec('alexnet', { inputSize: 128 })).toThrow(/3x3 map before 'avgpool'/)
    expect(() => torchvisionSpec('alexnet', { inputSize: 32 })).toThrow(/input too small, 'features.12'/)
  })
})

describe('checkStateDict', () => {
  const spec = torchvisionSpec('mobilenet_v3_small')

  it('accepts exactly the spec’s tensors and ignores num_batches_tracked', () => {
    const sd = zeros(spec)
    sd.set('features.0.1.num_batches_tracked', { shape: [], data: new Float32Array(1) })
    expect(() => checkStateDict(spec, sd)).not.toThrow()
  })

  it('names the first missing, wrong-shaped, unexpected or non-finite tensor', () => {
    let sd = zeros(spec)
    sd.delete('features.4.block.2.fc2.bias')
    expect(() => checkStateDict(spec, sd)).toThrow(
      "mobilenet_v3_small state dict: missing tensor 'features.4.block.2.fc2.bias' (expected shape [96])"
    )
    sd = zeros(spec)
    sd.set('features.2.block.1.0.weight', { shape: [72, 3, 3, 1], data: new Float32Array(72 * 9) })
    expect(() => checkStateDict(spec, sd)).toThrow(
      "tensor 'features.2.block.1.0.weight' has shape [72, 3, 3, 1], expected [72, 1, 3, 3]"
    )
    sd = zeros(spec)
    sd.set('classifier.3.bias', { shape: [1000], data: new Float32Array(10) })
    expect(() => checkStateDict(spec, sd)).toThrow(/'classifier.3.bias' holds 10 values/)
    sd = zeros(spec)
    sd.set('classifier.9.weight', { shape: [2], data: new Float32Array(2) })
    expect(() => checkStateDict(spec, sd)).toThrow("unexpected tensor 'classifier.9.weight' (shape [2])")
    sd = zeros(spec)
    sd.get('features.0.1.running_var')!.data[3] = NaN
    expect(() => checkStateDict(spec, sd)).toThrow(/'features.0.1.running_var' has a non-finite value at 3/)
  })
})

describe('layout conversions', () => {
  const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i)

  it('conv OIHW -> HWIO', () => {
    // weight[o][i][y][x] = o * 1000 + i * 100 + y * 10 + x
    const [o, i, kh, kw] = [3, 2, 2, 3]
    const data = new Float32Array(o * i * kh * kw)
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) data[((a * i + b) * kh + y) * kw + x] = a * 1000 + b * 100 + y * 10 + x
    const t = convKernelToTf({ shape: [o, i, kh, kw], data })
    expect(t.shape).toEqual([kh, kw, i, o])
    // HWIO index of (y=1, x=2, i=1, o=2)
    expect(t.data[((1 * kw + 2) * i + 1) * o + 2]).toBe(2000 + 100 + 10 + 2)
  })

  it('depthwise [C, 1, kh, kw] -> [kh, kw, C, 1]', () => {
    const t = depthwiseKernelToTf({ shape: [4, 1, 3, 3], data: seq(36) })
    expect(t.shape).toEqual([3, 3, 4, 1])
    // channel 2, y 1, x 0 is torch index 2 * 9 + 3.
    expect(t.data[(1 * 3 + 0) * 4 + 2]).toBe(21)
  })

  it('linear [out, in] -> [in, out], with NCHW -> NHWC row order after a flatten', () => {
    const plain = linearKernelToTf({ shape: [2, 3], data: seq(6) })
    expect(plain.shape).toEqual([3, 2])
    expect([...plain.data]).toEqual([0, 3, 1, 4, 2, 5])
    // in = C 2 x H 1 x W 2; torch column (c, h, w) = c * 2 + w; TF row (h, w, c) = w * 2 + c.
    const flat = linearKernelToTf({ shape: [1, 4], data: Float32Array.from([10, 11, 20, 21]) }, [2, 1, 2])
    expect([...flat.data]).toEqual([10, 20, 11, 21])
  })
})
