// The strategies on torchvision backbones end to end, on real GTSRB images: ResNet-18 and MobileNetV3-small
// state dicts written by PyTorch (random weights and batch-norm statistics, .pth zip format) are the bases.
// Input 64 px so the runs take seconds on a CPU.
// - feature extraction (ResNet-18): the frozen backbone's features (input of the last Linear) are computed
//   once, a new head learns the five signs above chance on the track-disjoint gtsrb-test images (a random
//   MobileNetV3's features are nearly constant across images, so it cannot show this);
// - fine-tune: the batch norms stay in inference mode (their running statistics are exactly the file's
//   after training), the backbone's weights move, at the reduced rate, after a head-only first epoch;
// - retrain: the same architecture from torchvision's fresh initialisation trains.
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import type { TrainConfig } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { train } from '../../../../src/main/ml/train/trainer'
import { defaultTrainConfig } from '../../../../src/main/ml/train/config'
import { readPth } from '../../../../src/main/ml/weights/pth'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { FIVE, accuracyOn, gtsrbExamples, gtsrbTrainData } from './trainerFixtures'

const PYTHON = '/usr/bin/python3'
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0
if (process.env.CI && !hasTorch) throw new Error(`${PYTHON} has no torch/torchvision; .ci/run installs them`)
const run = sharedDataAvailable() && hasTorch ? describe : describe.skip

const ARCH = 'mobilenet_v3_small' as const

run('strategies on a torchvision backbone (MobileNetV3-small .pth from PyTorch, real GTSRB)', () => {
  let tmp: ReturnType<typeof tempDir>
  let pth: string
  let resnet: string
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    pth = join(tmp.dir, `${ARCH}.pth`)
    resnet = join(tmp.dir, 'resnet18.pth')
    for (const [arch, file] of [
      [ARCH, pth],
      ['resnet18', resnet]
    ]) {
      execFileSync(PYTHON, [
        '-c',
        'import sys, torch, torchvision\n' +
          'torch.manual_seed(0)\n' +
          `m = torchvision.models.${arch}()\n` +
          'for b in m.modules():\n' +
          '  if isinstance(b, torch.nn.BatchNorm2d):\n' +
          '    b.running_mean.uniform_(-0.2, 0.2); b.running_var.uniform_(0.5, 1.5)\n' +
          'torch.save(m.state_dict(), sys.argv[1])',
        file
      ])
    }
  }, 120_000)
  afterAll(() => tmp.remove())

  const config = (
    strategy: TrainConfig['strategy'],
    over: Partial<TrainConfig> = {},
    base: { path: string; architecture: 'resnet18' | typeof ARCH } = { path: pth, architecture: ARCH }
  ): TrainConfig => {
    const c = defaultTrainConfig(strategy, { kind: 'torchvision-pth', ...base })
    c.preprocessing.inputSize = 64
    return { ...c, batchSize: 16, ...over }
  }

  it('feature extraction: a head on the frozen features learns the signs', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 60 })
    const c = config('feature-extraction', { epochs: 15 }, { path: resnet, architecture: 'resnet18' })
    expect(c.model).toEqual({ architecture: 'torchvision', backbone: 'resnet18' })
    expect(c.preprocessing).toMatchObject({ meanSubtraction: 'dataset', std: [58.395, 57.12, 57.375] })
    const result = await train(c, data, {
      runDir: join(tmp.dir, 'fe'),
      featureCacheDir: join(tmp.dir, 'features'),
      onEvent: () => {}
    })
    expect(result.status).toBe('completed')
    const acc = await accuracyOn(
      result.built!.model,
      result.built!.preprocessing,
      gtsrbExamples('gtsrb-test', FIVE, 40)
    )
    console.log(
      `feature extraction on resnet18 (random weights): test ${acc.toFixed(3)} (chance 0.2), ${result.seconds.toFixed(1)} s`
    )
    expect(acc).toBeGreaterThan(0.4)
    result.built!.dispose()
  }, 240_000)

  it('fine-tune: batch norm stays in inference mode, the backbone learns after the head-only epoch', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 30 })
    const file = await readPth(pth)
    const result = await train(config('fine-tune', { epochs: 3, earlyStoppingPatience: 0 }), data, {
      runDir: join(tmp.dir, 'ft'),
      onEvent: () => {}
    })
    expect(result.status).toBe('completed')
    const model = result.built!.model
    // Running statistics: exactly the file's (a train-mode batch norm would have moved them every step).
    const bn = model.getLayer('features.1.block.0.1')
    const [, , movingMean, movingVar] = bn.getWeights()
    expect(Array.from(await movingMean.data())).toEqual(
      Array.from(file.get('features.1.block.0.1.running_mean')!.data)
    )
    expect(Array.from(await movingVar.data())).toEqual(
      Array.from(file.get('features.1.block.0.1.running_var')!.data)
    )
    // A pretrained convolution moved (epochs 2-3), and the head is a new 5-way one.
    const conv = (await model.getLayer('features.0.0').getWeights()[0].data()) as Float32Array
    const torchConv = file.get('features.0.0.weight')!
    expect(conv.length).toBe(torchConv.data.length)
    const out = model.outputs[0].shape
    expect(out[out.length - 1]).toBe(5)
    const [kh, kw, cin, cout] = model.getLayer('features.0.0').getWeights()[0].shape
    let moved = 0
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < cin; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            const tfv = conv[((y * kw + x) * cin + i) * cout + o]
            const tv = torchConv.data[((o * cin + i) * kh + y) * kw + x]
            moved = Math.max(moved, Math.abs(tfv - tv))
          }
    expect(moved).toBeGreaterThan(0)
    result.built!.dispose()
  }, 300_000)

  it('retrain: the architecture from a fresh initialisation trains', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 20 })
    const c = config('retrain', { epochs: 1 })
    expect(c.base).toEqual({ kind: 'none' })
    expect(c.model).toEqual({ architecture: 'torchvision', backbone: ARCH })
    const result = await train(c, data, { runDir: join(tmp.dir, 'rt'), onEvent: () => {} })
    expect(result.status).toBe('completed')
    expect(Number.isFinite(result.history[0].trainLoss)).toBe(true)
    expect(tf.memory().numTensors).toBeGreaterThan(0)
    result.built!.dispose()
  }, 240_000)
})
