// Feature extraction (strategy 3) on an ONNX model, end to end on real GTSRB images: PyTorch's own
// torch.onnx.export of torchvision's resnet18 (random weights and batch-norm statistics, NCHW, 64 px, dynamic
// batch) is the base. The studio finds the features itself (the input of the last Gemm), computes them in
// onnxruntime, trains a new head, and saves base.onnx + head.onnx; the saved folder then predicts raw images
// through loadClassifier, and must reproduce the trainer's own validation accuracy on the same images (so
// preprocessing, base and head belong together), and learn the five signs of the track-disjoint gtsrb-test
// well above chance. Other strategies on an ONNX base are refused with a message.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelMetadata, TrainConfig } from '../../../../src/shared/training'
import { initBackend } from '../../../../src/main/ml/tfjs/backend'
import { train } from '../../../../src/main/ml/train/trainer'
import { defaultTrainConfig } from '../../../../src/main/ml/train/config'
import { buildMetadata, exportModelFolder } from '../../../../src/main/ml/export/folder'
import { evaluateExamples, loadClassifier } from '../../../../src/main/ml/evaluate/classifier'
import { buildModel } from '../../../../src/main/ml/models/strategies'
import { sharedDataAvailable, tempDir } from '../../../helpers'
import { FIVE, gtsrbExamples, gtsrbTrainData } from './trainerFixtures'

const PYTHON = '/usr/bin/python3'
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0
if (process.env.CI && !hasTorch) throw new Error(`${PYTHON} has no torch/torchvision; .ci/run installs them`)
const run = sharedDataAvailable() && hasTorch ? describe : describe.skip

run('feature extraction on an ONNX base (resnet18 exported by torch.onnx.export, real GTSRB)', () => {
  let tmp: ReturnType<typeof tempDir>
  let onnx: string
  beforeAll(async () => {
    await initBackend({ logger: () => {} })
    tmp = tempDir()
    onnx = join(tmp.dir, 'resnet18.onnx')
    execFileSync(PYTHON, [
      '-c',
      'import sys, torch, torchvision\n' +
        'torch.manual_seed(0)\n' +
        'm = torchvision.models.resnet18()\n' +
        'for b in m.modules():\n' +
        '  if isinstance(b, torch.nn.BatchNorm2d):\n' +
        '    b.running_mean.uniform_(-0.2, 0.2); b.running_var.uniform_(0.5, 1.5)\n' +
        'm.eval()\n' +
        "torch.onnx.export(m, torch.zeros(1, 3, 64, 64), sys.argv[1], input_names=['input'],\n" +
        "  output_names=['logits'], dynamic_axes={'input': {0: 'n'}, 'logits': {0: 'n'}}, opset_version=13)",
      onnx
    ])
  }, 180_000)
  afterAll(() => tmp.remove())

  const config = (strategy: TrainConfig['strategy'], over: Partial<TrainConfig> = {}): TrainConfig => ({
    ...defaultTrainConfig(strategy, { kind: 'onnx', path: onnx }, { format: 'onnx', inputSize: 64 }),
    batchSize: 16,
    ...over
  })

  it('trains a head on features computed in onnxruntime; the saved folder predicts what training measured', async () => {
    const data = gtsrbTrainData(FIVE, { perClass: 60 })
    const c = config('feature-extraction', { epochs: 15 })
    expect(c.model).toEqual({ architecture: 'onnx' })
    expect(c.preprocessing).toMatchObject({ inputSize: 64, meanSubtraction: 'dataset' })
    const phases: string[] = []
    const result = await train(c, data, {
      runDir: join(tmp.dir, 'fe'),
      featureCacheDir: join(tmp.dir, 'features'),
      onEvent: (e) => {
        if (e.type === 'phase' && !phases.includes(e.phase)) phases.push(e.phase)
      }
    })
    expect(result.status).toBe('completed')
    expect(phases).toContain('features')
    const built = result.built!
    expect(built.onnxBase).toMatchObject({ output: expect.any(String), layout: 'NCHW', inputSize: 64 })
    expect(built.featureDim).toBe(512)

    const dir = join(tmp.dir, 'model')
    const meta = buildMetadata({
      config: c,
      preprocessing: built.preprocessing,
      classes: data.classes,
      valAccuracy: result.valAccuracy,
      testAccuracy: null,
      backend: result.backend
    })
    const exported = await exportModelFolder(built.model, meta, dir, { onnxBase: built.onnxBase })
    built.dispose()
    expect(exported.files).toEqual(
      expect.arrayContaining(['base.onnx', 'head.onnx', 'labels.json', 'metadata.json', 'README.md'])
    )
    expect(existsSync(join(dir, 'model.json'))).toBe(false)
    const saved = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as ModelMetadata
    expect(saved.model.architecture).toBe('onnx')
    expect(saved.frozenBase).toEqual({
      file: 'base.onnx',
      head: 'head.onnx',
      output: built.onnxBase!.output,
      layout: 'NCHW'
    })
    expect(readFileSync(join(dir, 'base.onnx')).equals(readFileSync(onnx))).toBe(true)
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain("head = ort.InferenceSession('head.onnx')")

    const lines: string[] = []
    const loaded = await loadClassifier(dir, { logger: (l) => lines.push(l) })
    try {
      expect(loaded.classifier.runtime).toBe('onnx')
      expect(lines.join('\n')).toContain('base.onnx + head.onnx')
      // From raw images, the same accuracy the trainer measured on the cached features of the best epoch.
      const val = await evaluateExamples(loaded, data.val)
      expect(val.accuracy).toBeCloseTo(result.valAccuracy!, 6)
      const test = await evaluateExamples(loaded, gtsrbExamples('gtsrb-test', FIVE, 40))
      console.log(
        `ONNX base (resnet18, random weights, 64 px): val ${val.accuracy.toFixed(3)}, test ${test.accuracy.toFixed(3)} (chance 0.2), ${result.seconds.toFixed(1)} s`
      )
      expect(test.accuracy).toBeGreaterThan(0.4)
    } finally {
      await loaded.classifier.dispose()
    }
  }, 300_000)

  it('refuses the strategies that would train the ONNX base, and a wrong input size', async () => {
    await expect(buildModel(config('fine-tune'), 5)).rejects.toThrow(
      /only be used frozen, for feature extraction/
    )
    const c = config('feature-extraction')
    c.preprocessing.inputSize = 96
    await expect(buildModel(c, 5)).rejects.toThrow(
      /takes 64 px images, but the preprocessing is set to 96 px/
    )
  }, 60_000)
})
