// The torchvision backbones' speed, side by side with PyTorch in one run (issue 12): per architecture, the
// frozen features (input of the last Linear) through the studio's ONNX export in onnxruntime, as feature
// extraction computes them, and one fine-tune step in TF.js (the product's batchGradients + Adam, batch
// norm in inference mode, a new 43-way head), then bench/pytorch_backbones.py on the same architecture, input and
// batch. Random weights: speed does not depend on their values (no pretrained weights can be downloaded here).
// Run: npx jiti bench/backbones.ts [--archs mobilenet_v3_small,resnet18] [--input 224] [--batch 8] [--runs 3]
// Writes bench/backbones.json and prints a markdown table.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { TorchvisionArch } from '../src/shared/training'
import { describeBackend, initBackend } from '../src/main/ml/tfjs/backend'
import { createTorchvisionModel } from '../src/main/ml/models/torchvision'
import { exportOnnx } from '../src/main/ml/export/onnx'
import { OnnxRunner } from '../src/main/ml/evaluate/onnxRuntime'
import { batchGradients } from '../src/main/ml/train/gradients'
import { arg, best } from './lib/args'

async function studio(arch: TorchvisionArch, input: number, batch: number, runs: number) {
  const tv = createTorchvisionModel(arch, { numClasses: 43, inputSize: input, seed: 1 })
  const x = new Float32Array(batch * input * input * 3).map(() => Math.random() * 2 - 1)
  const runner = await OnnxRunner.create(exportOnnx(tv.featureModel), { threads: 2 })
  const features = await best(async () => {
    await runner.run(x, batch, [input, input, 3])
  }, runs)
  await runner.dispose()
  // Fine-tune as the product does: every layer trains but batch norm (inference mode), a new head.
  for (const l of tv.model.layers) l.trainable = l.getClassName() !== 'BatchNormalization'
  const vars = tv.model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)
  const optimizer = tf.train.adam(1e-4)
  const xt = tf.tensor4d(x, [batch, input, input, 3])
  const yt = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 43),
    'int32'
  )
  const step = await best(async () => {
    const loss = tf.tidy(() => {
      const r = batchGradients(tv.model, vars, xt, yt, 43)
      optimizer.applyGradients(r.grads as Parameters<typeof optimizer.applyGradients>[0])
      return r.loss
    })
    await loss.data()
    loss.dispose()
  }, runs)
  tf.dispose([xt, yt])
  optimizer.dispose()
  tv.dispose()
  return { featuresMs: features / batch, stepMs: step / batch }
}

async function main(): Promise<void> {
  const archs = arg('archs', 'mobilenet_v3_small,resnet18,mobilenet_v2,efficientnet_b0').split(
    ','
  ) as TorchvisionArch[]
  const input = Number(arg('input', '224'))
  const batch = Number(arg('batch', '8'))
  const runs = Number(arg('runs', '3'))
  const info = await initBackend({ prefer: 'wasm', logger: () => {} })
  const rows = []
  for (const arch of archs) {
    const s = await studio(arch, input, batch, runs)
    const rss = process.memoryUsage().rss / 2 ** 20
    const py = JSON.parse(
      execFileSync('/usr/bin/python3', [
        join(__dirname, 'pytorch_backbones.py'),
        '--arch',
        arch,
        '--input',
        String(input),
        '--batch',
        String(batch),
        '--runs',
        String(runs),
        '--json'
      ]).toString()
    )
    const row = {
      arch,
      input,
      batch,
      studio: { featuresOnnxMsPerImg: s.featuresMs, stepMsPerImg: s.stepMs, rssMiB: rss },
      pytorch: py,
      loadavg: loadavg()
    }
    console.error(JSON.stringify(row))
    rows.push(row)
  }
  const out = {
    date: new Date().toISOString(),
    cpus: `${cpus().length} x ${cpus()[0]?.model}`,
    backend: describeBackend(info),
    rows
  }
  writeFileSync(join(__dirname, 'backbones.json'), JSON.stringify(out, null, 2))
  console.log(
    '| architecture | features ms/img: onnxruntime (2 thr) | PyTorch (2 thr) | ratio | fine-tune step ms/img: TF.js wasm (1 thr) | PyTorch (1 thr) | ratio | load avg |'
  )
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    const f = r.studio.featuresOnnxMsPerImg
    const pf = r.pytorch.features_ms_per_img
    const st = r.studio.stepMsPerImg
    const ps = r.pytorch.step_ms_per_img
    console.log(
      `| ${r.arch} ${r.input} px, batch ${r.batch} | ${f.toFixed(2)} | ${pf.toFixed(2)} | ${(f / pf).toFixed(2)} | ${st.toFixed(1)} | ${ps.toFixed(1)} | ${(st / ps).toFixed(2)} | ${r.loadavg.map((v) => v.toFixed(2)).join(' / ')} |`
    )
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
