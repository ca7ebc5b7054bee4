// Data pipeline throughput: decode + (augment) + preprocess of real GTSRB PPMs into batches, images/s,
// to 227 px (AlexNet) and 32 px (compact), with and without augmentation. Single thread, like training.
// Run: npx jiti bench/dataPipeline.ts [--images 1500] [--batch 64]
// Timings on a machine shared with other work are indicative only.
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createBatchSource } from '../src/main/ml/data/batches'
import { defaultPreprocessing, preprocessInto } from '../src/main/ml/data/preprocess'
import type { Example } from '../src/main/ml/data/types'
import { arg } from './lib/args'

const data = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../shared/data')
const limit = Number(arg('images', '1500'))
const batchSize = Number(arg('batch', '64'))
const train = join(data, 'gtsrb-train')
const examples: Example[] = []
for (const cls of readdirSync(train).sort((a, b) => Number(a) - Number(b))) {
  for (const f of readdirSync(join(train, cls)).sort()) {
    examples.push({ imageId: null, path: join(train, cls, f), hash: '', label: Number(cls), roi: null })
  }
}
const set = examples.slice(0, limit)
const aug = {
  enabled: true,
  shift: 0.1,
  rotationDeg: 10,
  scale: 0.1,
  brightness: 0.2,
  contrast: 0.2,
  horizontalFlip: false
}

async function run(): Promise<void> {
  // Preprocessing alone (no I/O): one synthetic 32x32 image, repeated.
  const img = { width: 32, height: 32, data: Uint8Array.from({ length: 3072 }, (_, i) => (i * 37) % 256) }
  for (const arch of ['alexnet', 'compact'] as const) {
    const prep = defaultPreprocessing(arch)
    const out = new Float32Array(prep.inputSize * prep.inputSize * 3)
    for (let i = 0; i < 200; i++) preprocessInto(out, 0, img, prep)
    const t0 = performance.now()
    for (let i = 0; i < 2000; i++) preprocessInto(out, 0, img, prep)
    console.log(
      `preprocessInto 32 -> ${prep.inputSize}: ${((performance.now() - t0) / 2000).toFixed(3)} ms/image`
    )
  }
  for (const arch of ['alexnet', 'compact'] as const) {
    for (const augmented of [false, true]) {
      const src = createBatchSource({
        examples: set,
        preprocessing: defaultPreprocessing(arch),
        batchSize,
        shuffle: augmented,
        augmentation: augmented ? aug : undefined,
        seed: 1
      })
      for await (const b of src.epoch(0)) void b // warm-up: page cache and JIT
      const t0 = performance.now()
      let n = 0
      for await (const b of src.epoch(1)) n += b.size
      const s = (performance.now() - t0) / 1000
      const side = defaultPreprocessing(arch).inputSize
      console.log(
        `pipeline to ${side}${augmented ? ' + augmentation' : ''}: ${(n / s).toFixed(0)} images/s (${n} images)`
      )
    }
  }
}

void run()
