// The estimate's pure parts: torchvision costs from the architecture definitions (against torchvision's
// published GFLOPS), AlexNet sized to small images, the reduced setting a long-run warning offers, and the
// live remaining time from measured batches.
import { describe, expect, it } from 'vitest'
import {
  LONG_RUN_SECONDS,
  alexnetSideFor,
  medianSide,
  reducedConfig,
  remainingSeconds,
  sizeToData,
  type RunProgress
} from '../../src/shared/estimate'
import { TORCHVISION_ARCHS, type TrainConfig } from '../../src/shared/training'
import { modelCost } from '../../src/main/ml/models/shapes'
import { runWork, sizeEfficiency } from '../../src/main/training/estimate'
import { defaultTrainConfig } from '../../src/main/ml/train/config'

describe('torchvision cost from the architecture definitions', () => {
  // torchvision's model cards (GFLOPS there = multiply-adds at 224 px, 1000 classes).
  const published: Record<(typeof TORCHVISION_ARCHS)[number], number> = {
    alexnet: 0.71,
    resnet18: 1.81,
    resnet50: 4.09,
    mobilenet_v2: 0.3,
    mobilenet_v3_large: 0.22,
    mobilenet_v3_small: 0.06,
    efficientnet_b0: 0.39
  }
  for (const arch of TORCHVISION_ARCHS) {
    it(`${arch} costs what torchvision publishes`, () => {
      const cost = modelCost({ architecture: 'torchvision', backbone: arch }, 224, 1000)
      expect(cost.forward / 1e9).toBeGreaterThan(published[arch] * 0.93)
      expect(cost.forward / 1e9).toBeLessThan(published[arch] * 1.07)
      expect(cost.base + cost.head).toBe(cost.forward)
    })
  }
  it('differs per architecture (not the compact formula) and shrinks with the input side', () => {
    const r18 = modelCost({ architecture: 'torchvision', backbone: 'resnet18' }, 224, 43)
    const r50 = modelCost({ architecture: 'torchvision', backbone: 'resnet50' }, 224, 43)
    const compact = modelCost({ architecture: 'compact' }, 224, 43)
    expect(r50.forward).toBeGreaterThan(2 * r18.forward)
    expect(r18.forward).not.toBeCloseTo(compact.forward, -6)
    const small = modelCost({ architecture: 'torchvision', backbone: 'resnet18' }, 112, 43)
    expect(small.forward / r18.forward).toBeGreaterThan(0.2)
    expect(small.forward / r18.forward).toBeLessThan(0.3)
    // ResNet-18's head: 512 features x 43 classes.
    expect(r18.head).toBe(512 * 43)
  })
  it('an ONNX base costs by its file size', () => {
    const small = modelCost({ architecture: 'onnx' }, 224, 10, 10e6)
    const big = modelCost({ architecture: 'onnx' }, 224, 10, 100e6)
    expect(big.base).toBeCloseTo(10 * small.base)
  })
})

function retrain(): TrainConfig {
  return defaultTrainConfig('retrain')
}

describe('the assumed rate per model size', () => {
  it('is the full rate for small models and about half for the full AlexNet at 227 px (as measured)', () => {
    expect(sizeEfficiency(modelCost({ architecture: 'compact', width: 0.5 }, 32, 43).forward)).toBe(1)
    const full = modelCost({ architecture: 'alexnet', width: 1, fcUnits: 4096 }, 227, 43).forward
    expect(sizeEfficiency(full)).toBeGreaterThan(0.42)
    expect(sizeEfficiency(full)).toBeLessThan(0.52)
    expect(sizeEfficiency(1e11)).toBe(0.45)
  })
})

describe('AlexNet sized to the data and the machine', () => {
  it('takes the median of the longer sides, ROIs when cropped', () => {
    expect(medianSide([])).toBeNull()
    expect(
      medianSide([
        { width: 30, height: 31 },
        { width: 60, height: 50 },
        { width: 44, height: 40 }
      ])
    ).toBe(44)
    expect(
      medianSide([{ width: 200, height: 200, cropToRoi: true, roi: { x1: 5, y1: 5, x2: 45, y2: 40 } }])
    ).toBe(40)
  })
  it('gives GTSRB-sized signs 67 px and the reduced width on a CPU backend', () => {
    expect(retrain().preprocessing.inputSize).toBe(227)
    const sized = sizeToData(retrain(), { medianSide: 45, backend: 'wasm' })
    expect(sized.preprocessing.inputSize).toBe(67)
    expect(sized.model).toMatchObject({ width: 0.5, fcUnits: 1024 })
    // The default estimate drops by far more than 10x: 227 px full AlexNet vs 67 px reduced.
    const work = (c: TrainConfig) =>
      runWork(c, modelCost(c.model, c.preprocessing.inputSize, 43), { train: 5000, val: 1000 })
    expect(work(retrain()) / work(sized)).toBeGreaterThan(30)
    // A GPU keeps the full width; large photos keep 227 px.
    expect(sizeToData(retrain(), { medianSide: 45, backend: 'tfjs-node-gpu' }).model.width).toBe(1)
    expect(sizeToData(retrain(), { medianSide: 500, backend: 'wasm' }).preprocessing.inputSize).toBe(227)
    expect(alexnetSideFor(100)).toBe(131)
  })
  it('leaves pretrained shapes alone', () => {
    const ft = defaultTrainConfig('fine-tune', { kind: 'bvlc-npy', path: '/x.npy' })
    expect(sizeToData(ft, { medianSide: 45, backend: 'wasm' })).toEqual(ft)
  })
})

describe('the reduced setting a long-run warning offers', () => {
  it('reduces AlexNet from scratch, then has nothing more to offer', () => {
    const r = reducedConfig(retrain())!
    expect(r.model).toMatchObject({ width: 0.5, fcUnits: 1024 })
    expect(r.preprocessing.inputSize).toBe(67)
    expect(reducedConfig(r)).toBeNull()
  })
  it('halves a torchvision input side, not below 64 px; none for a BVLC base', () => {
    const tv = defaultTrainConfig('fine-tune', {
      kind: 'torchvision-pth',
      path: '/r.pth',
      architecture: 'resnet50'
    })
    expect(reducedConfig(tv)!.preprocessing.inputSize).toBe(112)
    expect(reducedConfig(reducedConfig(reducedConfig(tv)!)!)).toBeNull()
    expect(reducedConfig(defaultTrainConfig('fine-tune', { kind: 'bvlc-npy', path: '/x.npy' }))).toBeNull()
    expect(LONG_RUN_SECONDS).toBe(3600)
  })
})

describe('remaining time of a live run', () => {
  const base: RunProgress = {
    totalEpochs: 10,
    epoch: 1,
    batch: 0,
    batchesPerEpoch: 100,
    trainImages: 3200,
    valImages: 600,
    imagesPerSecond: 0,
    etaSeconds: null,
    history: []
  }
  it('is unknown before any batch was measured, and for a run that stopped', () => {
    expect(remainingSeconds(base)).toBeNull()
    const measured = { ...base, batch: 10, imagesPerSecond: 320 }
    expect(remainingSeconds({ ...measured, status: 'running' })).toBeGreaterThan(0)
    expect(remainingSeconds({ ...measured, status: 'cancelled' })).toBeNull()
    expect(remainingSeconds({ ...measured, status: 'failed' })).toBeNull()
    expect(remainingSeconds({ ...measured, status: 'completed' })).toBe(0)
  })
  it('uses the measured batch rate before the first epoch ends', () => {
    // 10 batches of 100 done at 320 images/s: 9.9 epochs of training left and 10 validations.
    const r = remainingSeconds({ ...base, batch: 10, imagesPerSecond: 320 })!
    expect(r).toBeCloseTo((3200 * 9.9 + 200 * 10) / 320)
    // Twice as fast measured: half the time.
    expect(remainingSeconds({ ...base, batch: 10, imagesPerSecond: 640 })).toBeCloseTo(r / 2)
  })
  it('after an epoch, counts down the mean epoch time within the current one', () => {
    const after = { ...base, epoch: 2, history: [{ epoch: 1 }, { epoch: 2 }], etaSeconds: 80 }
    expect(remainingSeconds({ ...after, batch: 100 })).toBe(80)
    // Halfway through epoch 3: half an epoch (of 10 s) less.
    expect(remainingSeconds({ ...after, epoch: 3, batch: 50, imagesPerSecond: 1 })).toBeCloseTo(75)
    expect(remainingSeconds({ ...after, history: [...Array(10)].map((_, i) => ({ epoch: i + 1 })) })).toBe(0)
  })
})
