// Accuracy of the four strategies on real GTSRB, through the product only: the CLI (import, split,
// evaluate) and the services (TrainingService: train and export; library:setLabel to subsample). Writes
// bench/accuracy.json (one row per run) and bench/ACCURACY.md (the table, references, confusion pairs).
//
//   npx jiti bench/accuracy.ts            full run (~25 min on 2 cores): transfer at 150/50/10 images
//                                         per class, and the compact CNN on all 43 classes
//   npx jiti bench/accuracy.ts --quick    a few classes and epochs (< 3 min), to check the script works
//   npx jiti bench/accuracy.ts --report   rewrite ACCURACY.md from accuracy.json (no training)
//   add --pytorch to run the PyTorch reference after the studio runs (bench/pytorch_gtsrb.py, ~20 min;
//   results in bench/pytorch-gtsrb.json), or --pytorch-only for just that
//
// Design (see ACCURACY.md for the reasons):
// - base: AlexNet retrained from scratch (strategy 2) on classes 0-21, exported; strategies 1 and 3 start
//   from it and transfer to classes 22-42, next to the same target trained from scratch (strategy 2);
// - target subsampling is nested and deterministic: per class, train images sorted by file name, every
//   k-th kept; the validation split (by track, 20 %) is fixed for every size;
// - strategy 4 (compact CNN, 32 px) trains on all 43 classes;
// - every import reads GTSRB's annotation CSV and crops each sign to its region of interest (--crop-roi);
// - test accuracy is `transfer-studio evaluate --model <export> --data gtsrb-test --names signnames.csv
//   --annotations annotations/gtsrb-test.csv` (cropped the same way; a model of 21 or 22 classes is scored
//   on the test folders of its own classes).
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import type { Strategy, TrainConfig } from '../src/shared/training'
import { GRAD_WORKER, cliRunner, importAndSplit } from './lib/cli'
import { UNSEEN_END, UNSEEN_START } from './lib/markers'
import { createBackend } from '../src/main/backend'
import { TrainingService, inProcessRunner } from '../src/main/training/trainingService'

const QUICK = process.argv.includes('--quick')
const DATA = process.env.TS_SHARED_DATA ?? resolve(__dirname, '../../shared/data')
const TRAIN = join(DATA, 'gtsrb-train')
const TEST = join(DATA, 'gtsrb-test')
const NAMES = join(DATA, 'signnames.csv')
/** GTSRB's regions of interest: every model here trains and is tested on the sign cropped to its region. */
const TRAIN_CSV = join(DATA, 'annotations', 'gtsrb-train.csv')
const TEST_CSV = join(DATA, 'annotations', 'gtsrb-test.csv')
const OUT_JSON = resolve(__dirname, QUICK ? 'accuracy.quick.json' : 'accuracy.json')
const OUT_MD = resolve(__dirname, QUICK ? 'ACCURACY.quick.md' : 'ACCURACY.md')

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i)
const BASE_CLASSES = QUICK ? range(0, 4) : range(0, 21)
const TARGET_CLASSES = QUICK ? range(22, 26) : range(22, 42)
const ALL_CLASSES = QUICK ? [...range(0, 4), ...range(22, 26)] : range(0, 42)
const SIZES = QUICK ? [50, 10] : [150, 50, 10]

/** Epochs of the compact CNN (strategy 4; its default): what fits the goal's 660 s on this machine's 2 cores. */
const CUSTOM_EPOCHS = 21
/** Share of the images (whole tracks) the compact CNN's run holds out for validation. */
const CUSTOM_VAL = 0.1
/** Epochs of the AlexNet base (strategy 2 on the base classes). */
const BASE_EPOCHS = 15

/** The reduced AlexNet every AlexNet strategy uses here (see ACCURACY.md for why). */
const ALEX = { inputSize: 67, width: 0.25, fcUnits: 512 }

interface Row {
  strategy: Strategy
  model: string
  task: string
  images_per_class: number
  epochs: number
  seconds: number
  val_accuracy: number | null
  test_accuracy: number | null
  test_images: number
  confusions: string[]
  /** Threads a train step ran on (2: data-parallel on wasm). */
  threads: number
  load_average: number[]
}

const rows: Row[] = []
/** When the runs ended (the report-only mode keeps the date of accuracy.json). */
let runDate = new Date()
const tmp = mkdtempSync(join(tmpdir(), 'ts-accuracy-'))
const dataDir = join(tmp, 'appdata')
const started = Date.now()
const log = (s: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${s}\n`)
}

/** Runs one CLI command in-process; returns its stdout (JSON with --json). */
const cli = cliRunner(dataDir)

/** A folder holding copies of the given class folders of gtsrb-train. */
function classFolder(name: string, classes: number[]): string {
  const dir = join(tmp, name)
  for (const c of classes) cpSync(join(TRAIN, String(c)), join(dir, String(c)), { recursive: true })
  return dir
}

/** Imports the classes' train images into a new project and splits off `val` of them by track. */
async function importProject(name: string, classes: number[], val = 0.2): Promise<string> {
  const project = join(tmp, `${name}.tsproj`)
  const src = classFolder(`${name}-images`, classes)
  const { imported: imp, split } = await importAndSplit(cli, {
    folder: src,
    project,
    names: NAMES,
    annotations: TRAIN_CSV,
    val
  })
  log(`${name}: imported ${imp.imported} images, split train ${split.train} / val ${split.val}`)
  return project
}

async function withBackend<T>(
  project: string,
  fn: (b: Awaited<ReturnType<typeof createBackend>>) => Promise<T>
): Promise<T> {
  const backend = createBackend({ dataDir })
  try {
    await backend.handlers['project:open']({ path: project })
    return await fn(backend)
  } finally {
    await backend.dispose()
  }
}

/**
 * Keeps `perClass` train images of each class labelled (every k-th by file name) and unlabels the rest,
 * so they drop out of training; val is untouched. Nested: 150 -> 50 -> 10 keeps a subset each time.
 */
async function subsample(project: string, perClass: number): Promise<number> {
  return withBackend(project, async (b) => {
    const classes = await b.handlers['classes:list']({})
    let kept = 0
    for (const c of classes) {
      const items: { id: number; fileName: string }[] = []
      for (let offset = 0; ; offset += 1000) {
        const page = await b.handlers['library:query']({
          filter: { classIds: [c.id], split: 'train' },
          offset,
          limit: 1000
        })
        items.push(...page.items)
        if (items.length >= page.total || page.items.length === 0) break
      }
      items.sort((x, y) => (x.fileName < y.fileName ? -1 : 1))
      if (items.length <= perClass) {
        kept += items.length
        continue
      }
      const keep = new Set<number>()
      for (let i = 0; i < perClass; i++) keep.add(items[Math.floor((i * items.length) / perClass)].id)
      const drop = items.filter((x) => !keep.has(x.id)).map((x) => x.id)
      if (drop.length) await b.handlers['library:setLabel']({ imageIds: drop, classId: null })
      kept += keep.size
    }
    return kept
  })
}

/** Trains with the services, exports the model; returns the run record and the export folder. */
async function trainRun(
  project: string,
  strategy: Strategy,
  edit: (c: TrainConfig) => void,
  exportName: string
): Promise<{ seconds: number; val: number | null; epochs: number; dir: string; threads: number }> {
  return withBackend(project, async (b) => {
    let threads = 1
    const service = new TrainingService(b.services.projects, {
      runner: inProcessRunner(),
      gradWorker: GRAD_WORKER
    })
    const config = service.defaults(strategy)
    edit(config)
    let lastLine = 0
    const off = service.onEvent((e) => {
      if (e.type === 'started') threads = e.threads ?? 1
      if (e.type === 'epoch' && Date.now() - lastLine > 0) {
        lastLine = Date.now()
        log(
          `  ${exportName} epoch ${e.epoch}/${e.totalEpochs} loss ${e.trainLoss.toFixed(3)} ` +
            `val ${e.valAccuracy?.toFixed(3)} (${e.seconds.toFixed(0)} s, load ${loadavg()[0].toFixed(1)})`
        )
      }
    })
    try {
      const { runId } = await service.start(config)
      const run = await service.wait(runId)
      if (run.status !== 'completed') throw new Error(`${exportName}: run ${run.status}: ${run.error}`)
      const dir = join(tmp, 'exports', exportName)
      mkdirSync(join(tmp, 'exports'), { recursive: true })
      service.exportRun(runId, dir)
      return { seconds: run.seconds ?? 0, val: run.valAccuracy ?? null, epochs: run.epochsDone, dir, threads }
    } finally {
      off()
    }
  })
}

/** gtsrb-test accuracy through the CLI, and the most frequent confusions (same evaluation in-process). */
async function testAccuracy(dir: string): Promise<{ acc: number; images: number; confusions: string[] }> {
  const r = JSON.parse(
    await cli([
      'evaluate',
      '--model',
      dir,
      '--data',
      TEST,
      '--names',
      NAMES,
      '--annotations',
      TEST_CSV,
      '--json'
    ])
  )
  if (r.cropped_to_roi !== r.images)
    throw new Error(`evaluate cropped ${r.cropped_to_roi} of ${r.images} images`)
  const { parseGtsrbCsv } = await import('../src/main/library/labelSources')
  const { parseNamesCsv } = await import('../src/main/library/labelSources')
  const { examplesFromFolder } = await import('../src/main/ml/data/folder')
  const { evaluateExamples, loadClassifier } = await import('../src/main/ml/evaluate/classifier')
  const loaded = await loadClassifier(dir, { logger: () => {} })
  try {
    const folder = await examplesFromFolder(TEST, {
      classes: loaded.labels.map((l) => ({ key: l.key, index: l.index, name: l.name })),
      names: parseNamesCsv(readFileSync(NAMES, 'utf8')),
      annotations: parseGtsrbCsv(readFileSync(TEST_CSV, 'utf8'), TEST)
    })
    const e = await evaluateExamples(loaded, folder.examples)
    if (Math.abs(e.accuracy - r.accuracy) > 1e-9)
      throw new Error(`evaluate: CLI ${r.accuracy} vs in-process ${e.accuracy}`)
    const name = new Map(e.perClass.map((c) => [c.classId, c.name]))
    const pairs: { n: number; text: string }[] = []
    e.confusion.forEach((row, i) =>
      row.forEach((n, j) => {
        if (i !== j && n > 0)
          pairs.push({ n, text: `${name.get(e.classIds[i])} -> ${name.get(e.classIds[j])} (${n})` })
      })
    )
    pairs.sort((a, b) => b.n - a.n)
    return { acc: r.accuracy, images: r.images, confusions: pairs.slice(0, 3).map((p) => p.text) }
  } finally {
    await loaded.classifier.dispose()
  }
}

async function record(
  partial: Omit<
    Row,
    | 'test_accuracy'
    | 'test_images'
    | 'confusions'
    | 'load_average'
    | 'seconds'
    | 'epochs'
    | 'val_accuracy'
    | 'threads'
  >,
  run: { seconds: number; val: number | null; epochs: number; dir: string; threads: number }
): Promise<void> {
  const t = await testAccuracy(run.dir)
  const row: Row = {
    ...partial,
    epochs: run.epochs,
    seconds: +run.seconds.toFixed(1),
    val_accuracy: run.val === null ? null : +run.val.toFixed(4),
    test_accuracy: +t.acc.toFixed(4),
    test_images: t.images,
    confusions: t.confusions,
    threads: run.threads,
    load_average: loadavg().map((x) => +x.toFixed(2))
  }
  rows.push(row)
  log(
    `${row.strategy} ${row.task} @${row.images_per_class}: ${row.seconds} s, val ${row.val_accuracy}, ` +
      `test ${row.test_accuracy} (${t.images} images)`
  )
  writeReport(false)
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`)

function writeReport(done: boolean): void {
  if (!process.argv.includes('--report') && !process.argv.includes('--pytorch-only')) {
    runDate = new Date()
    writeFileSync(OUT_JSON, `${JSON.stringify(rows, null, 2)}\n`)
  }
  const alex = `AlexNet ${ALEX.inputSize} px, width ${ALEX.width}, fc ${ALEX.fcUnits}`
  const table = [
    '| strategy | model | task | images/class | epochs | train s | threads | val acc | gtsrb-test acc | load avg |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.strategy} | ${r.model} | ${r.task} | ${r.images_per_class} | ${r.epochs} | ${r.seconds} | ${r.threads ?? 1} | ` +
        `${pct(r.val_accuracy)} | ${pct(r.test_accuracy)} (${r.test_images}) | ${r.load_average[0]} |`
    )
  ]
  const conf = rows.map(
    (r) => `- ${r.strategy}, ${r.task}, ${r.images_per_class}/class: ${r.confusions.join('; ') || 'none'}`
  )
  const md = [
    `# Accuracy on GTSRB${QUICK ? ' (quick check, not a result)' : ''}`,
    '',
    `Produced by \`npx jiti bench/accuracy.ts${QUICK ? ' --quick' : ''}\` on ${runDate.toISOString().slice(0, 16)} UTC, ` +
      `${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, TF.js wasm SIMD ` +
      `backend, shared with other work (load average per row). ${done ? '' : '**Incomplete: the run is still going or was cut off.**'}`,
    '',
    'Data: `gtsrb-train` (150 images per class, 32x32) imported with the CLI with its GTSRB regions of interest ' +
      '(`import --labels gtsrb-csv --annotations annotations/gtsrb-train.csv --crop-roi`: every model sees the sign ' +
      'cropped to its annotated box), split train/val by track ' +
      '(`split --val 0.2 --test 0 --group-by track`; 0.1 for the compact CNN on all classes, so that it trains on ' +
      '90 % of the images); test accuracy is `transfer-studio evaluate --annotations annotations/gtsrb-test.csv` ' +
      "(cropped the same way) on the track-disjoint `gtsrb-test` (30 per class) for the model's classes.",
    '',
    `Transfer setup: the base is an ${alex} retrained from scratch (strategy 2) on classes ` +
      `${BASE_CLASSES[0]}-${BASE_CLASSES.at(-1)}; fine-tune (1) and feature extraction (3) transfer it to classes ` +
      `${TARGET_CLASSES[0]}-${TARGET_CLASSES.at(-1)}, next to the same architecture trained from scratch on the ` +
      `target (2). Target train images are subsampled per class (every k-th by file name, nested), validation fixed. ` +
      'Every model here is fed per-image, per-channel standardised images (`--normalize std`); "threads" is 2 ' +
      'where a train step is split over two threads (data-parallel on wasm).',
    '',
    ...table,
    '',
    'References (not measured here unless stated):',
    '- human performance on GTSRB: 98.84%',
    "- the tutorial's AlexNet fc7 feature-extraction lab (Udacity, ImageNet weights): 96.6% on a random split of " +
      'the training images (optimistic: frames of one track land on both sides)',
    '- a plain PyTorch small CNN (BN, shift/rotate/scale/brightness augmentation, Adam one-cycle, 25 epochs, ' +
      "330 s on 2 cores): 99.5% on gtsrb-test (the issue's figure)",
    ...pytorchRows().map(
      (p) =>
        `- measured here with \`bench/pytorch_gtsrb.py${p.args ? ` ${p.args}` : ''}\` (PyTorch ${p.torch}, ${p.threads} threads, ` +
        `load average ${p.load_average[0].toFixed(1)}): ${p.model}, ${p.epochs} epochs on ${p.train_images} images, ` +
        `${p.train_seconds} s: **${pct(p.test_accuracy)}** on gtsrb-test`
    ),
    '',
    'Most frequent confusions on gtsrb-test (true -> predicted (images)):',
    ...conf,
    ''
  ]
  // bench/unseen.ts writes its section between these markers; it survives a rewrite of the rest.
  const prior = existsSync(OUT_MD) ? readFileSync(OUT_MD, 'utf8') : ''
  const from = prior.indexOf(UNSEEN_START)
  const to = prior.indexOf(UNSEEN_END)
  const unseen = from >= 0 && to > from ? `\n${prior.slice(from, to + UNSEEN_END.length)}\n` : ''
  writeFileSync(OUT_MD, `${md.join('\n')}\n${NOTES}${unseen}`)
}

interface PytorchRow {
  args: string
  model: string
  epochs: number
  threads: number
  train_images: number
  train_seconds: number
  test_accuracy: number
  torch: string
  load_average: number[]
}

const PYTORCH_JSON = resolve(__dirname, 'pytorch-gtsrb.json')

/** The PyTorch reference runs (bench/pytorch-gtsrb.json, written by `--pytorch`), if any. */
function pytorchRows(): PytorchRow[] {
  try {
    return JSON.parse(readFileSync(PYTORCH_JSON, 'utf8')) as PytorchRow[]
  } catch {
    return []
  }
}

/**
 * `--pytorch`: runs the PyTorch reference on the same data and machine (Debian's python3-torch): the
 * reference model (32-64-128, 25 epochs, all train images) and the studio's compact CNN size with its
 * epochs and one track per class held out, as the studio's split does; each on the whole images and on
 * the signs cropped to their regions of interest, as the studio's rows are.
 */
function runPytorch(): void {
  const small = ['--channels', '16', '--epochs', String(CUSTOM_EPOCHS), '--holdout-tracks', '1']
  const runs = [[], small, ['--crop-roi'], [...small, '--crop-roi']]
  const out: PytorchRow[] = []
  for (const args of runs) {
    log(`PyTorch reference ${args.join(' ') || '(defaults)'}...`)
    const text = execFileSync('/usr/bin/python3', [join(__dirname, 'pytorch_gtsrb.py'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit']
    })
    out.push({
      args: args.join(' '),
      ...(JSON.parse(text.trim().split('\n').at(-1)!) as Omit<PytorchRow, 'args'>)
    })
    writeFileSync(PYTORCH_JSON, `${JSON.stringify(out, null, 2)}\n`)
  }
}

/** Hand-written findings, appended below the generated part (kept in this file so a rerun keeps them). */
const NOTES = QUICK
  ? ''
  : `## Findings

- **Goal met: 99.3 % on gtsrb-test in 354 s, against >= 99 % in <= 660 s.** The best strategy is the
  compact CNN (4), trained on the signs cropped to their GTSRB regions of interest.
  - The table's run (session 5): 99.30 % on gtsrb-test (9 of 1,290 wrong) after 21 epochs in 354.0 s,
    validation 98.4 %. Session 4's table had 99.46 % in 570.5 s with the same recipe; the time fell with
    the studio's own WebAssembly SIMD kernels (RESULTS.md). A run earlier in session 5, with only some of
    those kernels, took 413.2 s and gave every accuracy in this table to the last digit: the kernels add
    the same products in the same order as the ones they replace.
  - The same recipe through the CLI, on the same cropped import, with brightness varied by +-20 %
    instead of +-30 %, gave 99.30 % (21 epochs, seed 7, 620 s) and 98.91 % (20 epochs, seed 42, 593 s),
    with session 4's kernels.
  - So the recipe sits at 98.9-99.5 % over four runs. On the whole images, three runs gave 98.6-98.8 %.
- **What made the difference: cropping to the region of interest.** GTSRB annotates each sign's box.
  - The files keep a margin around the sign: the box is 76 % of the image width (median), in train and
    in test alike. Cropped, the sign fills the 32 px input (about 1.3x more pixels across it), and the
    background is gone.
  - Until now the bench imported by folder and ignored the boxes. A test-time check on two models
    trained on whole images pointed the way:
    - zooming the test images in by 10 % raised them from 98.6 / 98.8 % to 98.8 / 99.4 %;
    - zooming out by 10 % lowered them to 97.5 / 97.0 %.
  - Now every import here reads the annotations (\`import --labels gtsrb-csv --crop-roi\`).
    \`transfer-studio evaluate --annotations\` (new) crops the test images the same way. The export
    records the crop, and evaluate says when a cropping model gets no annotations.
  - The crop costs no time: the same resize reads a smaller window.
  - PyTorch gains from the crop too (\`--crop-roi\`, reference lines above, one run each):
    - 32-64-128: 99.4 % to 99.7 %;
    - 16-32-64: 98.8 % to 98.8 % (98.76 to 98.84).
    The studio's 16-32-64 runs on crops (98.9-99.5 %) are at or above PyTorch's one run at that size.
    The studio's augmentation also varies contrast, and it works on the crop before the resize.
- **Time.** One epoch of 5,811 images took 14-19 s on wasm with two threads, 16.9 s on average: about
  2.9 ms per image, validation and data pipeline included (session 4: 22-32 s, 27 s on average). 21
  epochs fit in the 660 s with about 300 s to spare. PyTorch trains the same net for 21 epochs in
  140-165 s on this CPU, and in 12 s on an H100 (RESULTS.md).
- **The product's defaults are now this recipe.** Strategy 4 in the wizard and \`train --strategy
  custom\` start from it: 16-32-64 filters (width 0.5), dense 256, dropout 0.25, per-image
  standardisation, batch 64, Adam at 3e-3 with a one-cycle schedule, augmentation, 21 epochs. The import
  dialog crops to the boxes by default when labels come from a GTSRB CSV.
- **Transfer shows clearly, and the crop lifts every AlexNet row.**
  - The base (strategy 2 on classes 0-21) reaches 94.1 % on its own test classes (session 4's run:
    92.9 %; on whole images it was 75.4 %).
  - Fine-tuning it on the other 21 classes, against the same net from scratch, in test accuracy (session
    4's run in brackets):
    - 150 images per class: 87.8 % vs 72.2 % (92.1 vs 72.1);
    - 50: 87.3 % vs 64.6 % (89.5 vs 67.0);
    - 10: 77.0 % vs 36.0 % (80.6 vs 40.3).
  - So transfer buys 16-20, 22-23 and 40-41 points, and the gain grows as the data shrinks. With 10
    images per class, fine-tuning keeps 77-81 %; from scratch, the net barely learns the task. Single
    rows move by up to 6 points between runs (630 test images, 30 frames per sign).
- **Feature extraction (3) is the fast, weak option here.** It reaches 68.6 / 61.3 / 51.7 % (session 4:
  65.2 / 63.6 / 57.5 %) and trains in 8 / 2 / 1 s: fc7 is computed once through onnxruntime, then only
  the head trains.
  - It beats training from scratch only at 10 images per class.
  - The reason: fc7 of a base trained on 2,643 images of 22 sign classes is a narrow feature set. The
    tutorial's 96.6 % uses ImageNet's weights, which are not reachable here. The product reads the
    real \`bvlc-alexnet.npy\` for users who have it (tested on files of the same structure).
- **Where the errors are.**
  - The compact CNN's 9 errors: 60 km/h read as the end of all limits (3), right-of-way read as
    ice/snow (3, as in session 4's run), 80 read as 100 km/h (1), and two single frames.
  - The AlexNet rows confuse the red-triangle pictograms (children, bicycles, road work, slippery road)
    and, for feature extraction, the blue arrows.
  - gtsrb-test holds 30 frames of each sign, so one hard sign costs several images at once.
- **Model sizes.** AlexNet at 227 px is 0.75 G MAC per image forward. The AlexNet strategies use a reduced
  AlexNet that keeps the same layers (5 conv with LRN and grouped conv2/4/5, fc6, fc7, fc8): 67 px (the
  32 px images upsampled about 2x instead of 7x), width 0.25 (a quarter of the filters) and 512-unit
  fc6/fc7, 5.2 M MAC per image. All models here use per-image standardisation. Feature extraction runs
  on one thread: its head trains on cached vectors.
- **The compact CNN** is the PyTorch reference's net at half its width: three blocks of two 3x3
  convolutions with batch normalisation, then dense 256 and dropout 0.25. It trains with 10 % of the
  tracks held out for validation.
`

async function main(): Promise<void> {
  const epochs = (full: number, quick: number): number => (QUICK ? quick : full)
  const aug = (c: TrainConfig): void => {
    c.augmentation = {
      enabled: true,
      shift: 0.1,
      rotationDeg: 10,
      scale: 0.1,
      brightness: 0.3,
      contrast: 0.2,
      horizontalFlip: false
    }
  }
  // Per-image, per-channel standardisation (contrast normalisation): GTSRB's lighting varies a lot.
  const standardise = (c: TrainConfig): void => {
    c.preprocessing.meanSubtraction = 'per-image-std'
    c.preprocessing.scale = 1
  }
  const alexnet = (c: TrainConfig): void => {
    c.model = { ...c.model, width: ALEX.width, fcUnits: ALEX.fcUnits }
    c.preprocessing.inputSize = ALEX.inputSize
    standardise(c)
    c.batchSize = 64
    c.earlyStoppingPatience = 0
    c.lrSchedule = 'one-cycle'
  }
  const alexName = `AlexNet ${ALEX.inputSize}px w${ALEX.width} fc${ALEX.fcUnits}`

  // Strategy 4: the compact CNN on every class.
  const all = await importProject('all', ALL_CLASSES, CUSTOM_VAL)
  const custom = await trainRun(
    all,
    'custom',
    (c) => {
      // The product's defaults for strategy 4 are this recipe (defaultTrainConfig): width 0.5, dense 256,
      // dropout 0.25, per-image standardisation, batch 64, Adam 3e-3 one-cycle, augmentation, 21 epochs.
      if (c.epochs !== CUSTOM_EPOCHS || !c.augmentation.enabled || c.model.width !== 0.5)
        throw new Error(`strategy 4's defaults are not the measured recipe: ${JSON.stringify(c)}`)
      c.epochs = epochs(CUSTOM_EPOCHS, 1)
    },
    'custom-all'
  )
  await record(
    {
      strategy: 'custom',
      model: `compact CNN 32px, 16-32-64 filters (width 0.5), BN, dense 256, dropout 0.25, per-image standardisation`,
      task: `all ${ALL_CLASSES.length} classes`,
      images_per_class: 150
    },
    custom
  )

  // Strategy 2 on the base classes: the base for 1 and 3.
  const baseProject = await importProject('base', BASE_CLASSES)
  const base = await trainRun(
    baseProject,
    'retrain',
    (c) => {
      alexnet(c)
      c.epochs = epochs(BASE_EPOCHS, 1)
      c.learningRate = 1e-3
      aug(c)
    },
    'base'
  )
  await record(
    {
      strategy: 'retrain',
      model: alexName,
      task: `base: classes ${BASE_CLASSES[0]}-${BASE_CLASSES.at(-1)}`,
      images_per_class: 150
    },
    base
  )

  // Transfer to the target classes at each size.
  const target = await importProject('target', TARGET_CLASSES)
  const task = `target: classes ${TARGET_CLASSES[0]}-${TARGET_CLASSES.at(-1)}`
  for (const n of SIZES) {
    const kept = await subsample(target, n)
    log(`target: ${kept} train images at ${n} per class`)
    // Fewer images: more epochs, so every size gets a comparable number of steps.
    const e = QUICK ? 1 : n >= 150 ? 10 : n >= 50 ? 20 : 40
    const ft = await trainRun(
      target,
      'fine-tune',
      (c) => {
        alexnet(c)
        c.base = { kind: 'studio-model', path: base.dir }
        c.epochs = e
        c.learningRate = 1e-3
        c.pretrainedRateFactor = 0.1
        aug(c)
      },
      `fine-tune-${n}`
    )
    await record({ strategy: 'fine-tune', model: `${alexName}, base above`, task, images_per_class: n }, ft)
    const fe = await trainRun(
      target,
      'feature-extraction',
      (c) => {
        alexnet(c)
        c.base = { kind: 'studio-model', path: base.dir }
        c.epochs = QUICK ? 5 : 30
        c.learningRate = 3e-3
        c.lrSchedule = 'cosine'
      },
      `feature-extraction-${n}`
    )
    await record(
      {
        strategy: 'feature-extraction',
        model: `${alexName} fc7 (frozen), base above`,
        task,
        images_per_class: n
      },
      fe
    )
    const scratch = await trainRun(
      target,
      'retrain',
      (c) => {
        alexnet(c)
        c.epochs = e
        c.learningRate = 1e-3
        aug(c)
      },
      `scratch-${n}`
    )
    await record(
      { strategy: 'retrain', model: `${alexName}, from scratch`, task, images_per_class: n },
      scratch
    )
  }
  writeReport(true)
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${OUT_JSON} and ${OUT_MD}`)
}

/** `--report`: rewrite ACCURACY.md from accuracy.json (e.g. after editing the notes), no training. */
async function reportOnly(): Promise<void> {
  const { statSync } = await import('node:fs')
  runDate = statSync(OUT_JSON).mtime
  rows.push(...(JSON.parse(readFileSync(OUT_JSON, 'utf8')) as Row[]))
  writeReport(true)
}

;(process.argv.includes('--report')
  ? reportOnly()
  : process.argv.includes('--pytorch-only')
    ? Promise.resolve(runPytorch()).then(() => reportOnly())
    : main().then(() => {
        if (process.argv.includes('--pytorch')) {
          runPytorch()
          writeReport(true)
        }
      })
)
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`)
    process.exitCode = 1
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }))
