// The data review's benchmark (issue 16), one command, writes bench/REVIEW.md and bench/review.json:
//   1. noise: a project of gtsrb-train (or its first --classes classes), --noise of its labels flipped to
//      another class with --seed, then a review with no pretrained base (the compact CNN, cross-validated);
//      precision and recall of the top-N label issues, N = the number flipped; time, peak RSS, load.
//   2. leaks: gtsrb-test split at random (`--group-by none`) and by track; cross-split near-duplicate pairs.
//   3. scale: the near-duplicate search (usearch HNSW) on 50,000 generated images, time and memory, and its
//      recall against an exact search on a sample; then the embedding map (UMAP) laid out from those neighbours.
// Run: npx jiti bench/review.ts [--classes 43] [--noise 0.05] [--folds 3] [--epochs n] [--seed 7]
//        [--scale 50000] [--skip noise,leaks,scale]
// The machine is shared: the load average is recorded with every figure.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createBackend } from '../src/main/backend'
import { ReviewService } from '../src/main/review/reviewService'
import { inProcessRunner } from '../src/main/training/trainingService'
import { duplicatePairs, nearestNeighbours, standardiseRows } from '../src/main/review/neighbours'
import { projectMap } from '../src/main/review/projection'
import { mixSeed, mulberry32 } from '../src/shared/random'
import { arg } from './lib/args'
import { findLabelIssues } from '../src/main/review/confidentLearning'
import type { ReviewJobResult } from '../src/main/ml'

const DATA = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../shared/data')
const gradWorker = {
  file: resolve(__dirname, '../src/main/ml/train/gradWorker.ts'),
  execArgv: ['--import', 'jiti/register']
}
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')
const rssMiB = (): number => +(process.resourceUsage().maxRSS / 1024).toFixed(0)

function linkClasses(dir: string, split: string, classes: number[]): string {
  for (const c of classes) {
    mkdirSync(join(dir, String(c)), { recursive: true })
    for (const f of readdirSync(join(DATA, split, String(c))))
      symlinkSync(join(DATA, split, String(c), f), join(dir, String(c), f))
  }
  return dir
}

async function noiseBench(
  tmp: string,
  classIds: number[],
  noise: number,
  folds: number,
  epochs: number | undefined,
  seed: number
) {
  const backend = createBackend({ dataDir: join(tmp, 'data-noise'), projectPath: join(tmp, 'noise.tsproj') })
  try {
    const folder = linkClasses(join(tmp, 'train'), 'gtsrb-train', classIds)
    await backend.handlers['library:import']({ folder, labels: 'folders' })
    const classes = await backend.handlers['classes:list']({})
    const images = backend.services.projects.require().repo.trainingImages()
    const rand = mulberry32(mixSeed(seed, 1))
    const order = images.map((_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    const flipped = new Map<number, number>()
    for (const k of order.slice(0, Math.round(noise * images.length))) {
      const img = images[k]
      const others = classes.filter((c) => c.id !== img.classId)
      const to = others[Math.floor(rand() * others.length)].id
      await backend.handlers['library:setLabel']({ imageIds: [img.id], classId: to })
      flipped.set(img.id, img.classId!)
    }
    // The job's result is kept, to rank the fold models' probabilities alone and the neighbours' votes alone too.
    let job: ReviewJobResult | null = null
    const real = inProcessRunner()
    const service = new ReviewService(backend.services.projects, backend.services.library, {
      runner: async (j, onEvent, signal) => {
        const r = await real(j, onEvent, signal)
        if (r.kind === 'review') job = r
        return r
      },
      gradWorker
    })
    let lastStage = ''
    service.onProgress((e) => {
      const key = `${e.stage}${e.fold ?? ''}`
      if (key !== lastStage)
        process.stderr.write(
          `[review] ${e.stage}${e.fold ? ` fold ${e.fold}/${e.folds}` : ''} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`
        )
      lastStage = key
    })
    const loadStart = load()
    const t0 = Date.now()
    const report = await service.start({ folds, epochs, duplicateThreshold: 0.97, seed })
    const seconds = (Date.now() - t0) / 1000
    const N = flipped.size
    const top = report.labelIssues.slice(0, N)
    const hits = top.filter((i) => flipped.has(i.imageId)).length
    const allHits = report.labelIssues.filter((i) => flipped.has(i.imageId)).length
    const suggestedRight = top.filter((i) => flipped.get(i.imageId) === i.suggestedClassId).length
    // Precision at N of the other two rankings: the models alone, and the neighbours' votes alone.
    const r = job as ReviewJobResult | null
    const variants: Record<string, number> = {}
    if (r) {
      const C = classes.length
      const classIndex = new Map(classes.map((c, i) => [c.id, i]))
      // The job's rows index the images in the order the service listed them (all images, labels as now).
      const listed = backend.services.projects.require().repo.trainingImages({ includeUnlabelled: true })
      const imageIds = listed.map((i) => i.id)
      const labels = Int32Array.from(r.rows, (row) => classIndex.get(listed[row].classId as number) ?? -1)
      const w = r.neighbourWeight
      const model = Float32Array.from(r.modelProbabilities)
      const votes = Float32Array.from(r.probabilities, (p, k) => (w > 0 ? (p - (1 - w) * model[k]) / w : 0))
      // With the neighbours' weight at 0 (the default) the blend holds no votes to recover.
      const rankings: [string, Float32Array][] = [['model', model]]
      if (w > 0) rankings.push(['neighbours', votes])
      for (const [name, probs] of rankings) {
        const issues = findLabelIssues(probs, labels, C).slice(0, N)
        variants[name] = +(issues.filter((i) => flipped.has(imageIds[r.rows[i.index]])).length / N).toFixed(4)
      }
    }
    return {
      images: images.length,
      classes: classIds.length,
      flipped: N,
      folds: report.method.folds,
      epochs: report.method.epochs,
      cvAccuracy: +report.method.cvAccuracy.toFixed(4),
      issues: report.labelIssues.length,
      precisionAtN: +(hits / N).toFixed(4),
      precisionAtNModelOnly: variants.model,
      precisionAtNNeighboursOnly: variants.neighbours,
      modelAccuracy: report.method.modelAccuracy,
      neighbourWeight: report.method.neighbourWeight,
      recallAtN: +(hits / N).toFixed(4),
      recallAllIssues: +(allHits / N).toFixed(4),
      suggestedTrueClassAtN: +(suggestedRight / Math.max(1, hits)).toFixed(4),
      seconds: +seconds.toFixed(1),
      peakRssMiB: rssMiB(),
      loadStart,
      loadEnd: load()
    }
  } finally {
    await backend.dispose()
  }
}

async function leakBench(tmp: string) {
  const backend = createBackend({ dataDir: join(tmp, 'data-leak'), projectPath: join(tmp, 'leak.tsproj') })
  try {
    const folder = linkClasses(
      join(tmp, 'test'),
      'gtsrb-test',
      Array.from({ length: 43 }, (_, i) => i)
    )
    await backend.handlers['library:import']({ folder, labels: 'folders' })
    const service = new ReviewService(backend.services.projects, backend.services.library, {
      runner: inProcessRunner()
    })
    const out: Record<string, unknown> = {}
    for (const groupBy of ['none', 'track'] as const) {
      await backend.handlers['library:split']({ val: 0.15, test: 0.15, groupBy, seed: 42 })
      const t0 = Date.now()
      const r = await service.start({ folds: 2, duplicateThreshold: 0.97, seed: 42, skipLabelIssues: true })
      out[groupBy] = {
        pairs: r.nearDuplicates.length,
        crossSplitPairs: r.crossSplitPairs,
        seconds: +((Date.now() - t0) / 1000).toFixed(1),
        search: r.method.search
      }
    }
    return { images: 1290, threshold: 0.97, ...out, load: load() }
  } finally {
    await backend.dispose()
  }
}

/** 50,000 generated 16 x 16 RGB images: smooth random patterns in groups of 30 slightly moved, noisy frames. */
function generated(n: number, seed: number): Float32Array {
  const d = 768
  const x = new Float32Array(n * d)
  const rand = mulberry32(seed)
  let base = new Float32Array(d)
  for (let i = 0; i < n; i++) {
    if (i % 30 === 0) {
      base = new Float32Array(d)
      const waves = Array.from({ length: 6 }, () => [rand() * 6, rand() * 6, rand() * 6, rand() * 3])
      for (let y = 0; y < 16; y++)
        for (let xx = 0; xx < 16; xx++)
          for (let c = 0; c < 3; c++)
            base[(y * 16 + xx) * 3 + c] = waves.reduce(
              (a, w) => a + Math.sin(w[0] * (xx / 16) + w[1] * (y / 16) + w[2] * c + w[3]),
              0
            )
    }
    const gain = 0.8 + 0.4 * rand()
    for (let k = 0; k < d; k++) x[i * d + k] = gain * base[k] + 0.15 * (rand() - 0.5)
  }
  return standardiseRows(x, n, d)
}

async function scaleBench(n: number) {
  const d = 768
  const rss0 = rssMiB()
  const t0 = Date.now()
  const x = generated(n, 3)
  const genSeconds = (Date.now() - t0) / 1000
  const t1 = Date.now()
  const nn = nearestNeighbours(x, n, d, 10)
  const annSeconds = (Date.now() - t1) / 1000
  const pairs = duplicatePairs(nn, 0.97)
  // Recall of the approximate search: the exact 10 neighbours of a sample of 5,000 rows among themselves
  // would not be the same question, so compare on the first 5,000 rows, indexed alone both ways.
  const m = Math.min(5000, n)
  const sub = x.subarray(0, m * d)
  const a = nearestNeighbours(sub, m, d, 10)
  const t2 = Date.now()
  const e = nearestNeighbours(sub, m, d, 10, { exact: true })
  const exactSeconds = (Date.now() - t2) / 1000
  // The embedding map the review draws, from those neighbours (UMAP, fitted on a sample above UMAP_MAX_FIT).
  const t3 = Date.now()
  const map = await projectMap(x, n, d, nn, { seed: 7 })
  const mapSeconds = (Date.now() - t3) / 1000
  let found = 0
  for (let r = 0; r < m; r++) {
    const truth = new Set(e.index.subarray(r * 10, r * 10 + 10))
    for (const k of a.index.subarray(r * 10, r * 10 + 10)) if (truth.has(k)) found++
  }
  return {
    images: n,
    dim: d,
    search: nn.search,
    generateSeconds: +genSeconds.toFixed(1),
    neighbourSeconds: +annSeconds.toFixed(1),
    pairsAt097: pairs.length,
    recallAt10VsExact: +(found / (m * 10)).toFixed(4),
    exactSecondsOn5000: +exactSeconds.toFixed(1),
    mapMethod: map.method,
    mapFitted: map.fitted,
    mapSeconds: +mapSeconds.toFixed(1),
    rssBeforeMiB: rss0,
    peakRssMiB: rssMiB(),
    load: load()
  }
}

async function main(): Promise<void> {
  const skip = new Set(arg('skip', '').split(',').filter(Boolean))
  const classes = Number(arg('classes', '43'))
  const noise = Number(arg('noise', '0.05'))
  const folds = Number(arg('folds', '3'))
  const epochsArg = arg('epochs', '')
  const seed = Number(arg('seed', '7'))
  const scale = Number(arg('scale', '50000'))
  const tmp = mkdtempSync(join(tmpdir(), 'ts-bench-review-'))
  const results: Record<string, unknown> = { date: new Date().toISOString(), cores: 2, loadAtStart: load() }
  try {
    if (!skip.has('noise'))
      results.noise = await noiseBench(
        tmp,
        Array.from({ length: classes }, (_, i) => i),
        noise,
        folds,
        epochsArg ? Number(epochsArg) : undefined,
        seed
      )
    process.stderr.write(`${JSON.stringify(results.noise)}\n`)
    if (!skip.has('leaks')) results.leaks = await leakBench(tmp)
    process.stderr.write(`${JSON.stringify(results.leaks)}\n`)
    if (!skip.has('scale')) results.scale = await scaleBench(scale)
    process.stderr.write(`${JSON.stringify(results.scale)}\n`)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  const out = arg('out', resolve(__dirname, 'review.json'))
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
  console.log(JSON.stringify(results))
}

void main()
