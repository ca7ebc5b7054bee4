// The engine's CLI commands in-process on a real project: train (custom strategy, JSON summary, export),
// evaluate on a folder, predict files, export a run again, and the clear errors of bad command lines.
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  existsSync,
  readFileSync,
  writeFileSync
} from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../src/main/cli'
import { SHARED_DATA, sharedDataAvailable, tempDir } from '../../helpers'

const CLASSES = ['14', '17', '38']
const GRAD_WORKER = resolve(__dirname, '../../../src/main/ml/train/gradWorker.ts')

function capture(isTTY = false): { write(text: string): void; isTTY: boolean; text: () => string } {
  let out = ''
  return { write: (t: string) => void (out += t), isTTY, text: () => out }
}

describe.skipIf(!sharedDataAvailable())('transfer-studio train / evaluate / predict / export', () => {
  let tmp: ReturnType<typeof tempDir>
  let project: string
  let testFolder: string
  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = capture()
    const stderr = capture()
    const code = await runCli(argv, {
      stdout,
      stderr,
      dataDir: join(tmp.dir, 'data'),
      // The gradient worker from source, as the built CLI finds gradWorker.js beside it.
      gradWorker: { file: GRAD_WORKER, execArgv: ['--import', 'jiti/register'] }
    })
    return { code, stdout: stdout.text(), stderr: stderr.text() }
  }

  beforeAll(async () => {
    tmp = tempDir()
    const images = join(tmp.dir, 'signs')
    testFolder = join(tmp.dir, 'test-signs')
    for (const c of CLASSES) {
      mkdirSync(join(images, c), { recursive: true })
      mkdirSync(join(testFolder, c), { recursive: true })
      const train = join(SHARED_DATA, 'gtsrb-train', c)
      for (const f of readdirSync(train).sort().slice(0, 90)) symlinkSync(join(train, f), join(images, c, f))
      const test = join(SHARED_DATA, 'gtsrb-test', c)
      // Copies: the folder reader does not follow symlinked files.
      for (const f of readdirSync(test)) copyFileSync(join(test, f), join(testFolder, c, f))
    }
    project = join(tmp.dir, 'signs.tsproj')
    expect((await cli('import', images, '--project', project, '--json')).code).toBe(0)
    expect((await cli('split', '--project', project, '--val', '0.15', '--test', '0.15', '--json')).code).toBe(
      0
    )
  })
  afterAll(() => tmp.remove())

  let out: string
  let runId: number
  it('train prints the JSON summary and exports the model', async () => {
    out = join(tmp.dir, 'model')
    const r = await cli(
      'train',
      '--project',
      project,
      '--strategy',
      'custom',
      '--epochs',
      '5',
      '--width',
      '0.25',
      '--fc-units',
      '64',
      '--no-batch-norm',
      // No dropout: a five-epoch run on 180 images learns faster without it (and exercises --dropout).
      '--dropout',
      '0',
      // The compact CNN's defaults are the long GTSRB recipe; this five-epoch run keeps small steps.
      '--no-augment',
      '--batch-size',
      '32',
      '--lr',
      '1e-3',
      '--lr-schedule',
      'constant',
      '--patience',
      '0',
      '--out',
      out,
      '--json'
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    runId = j.run_id
    console.log(`cli train: val ${j.val_accuracy}, test ${j.test_accuracy}, ${j.seconds} s`)
    expect(Object.keys(j).sort()).toEqual([
      'backend',
      'epochs',
      'out',
      'run_id',
      'seconds',
      'strategy',
      'test_accuracy',
      'threads',
      'val_accuracy'
    ])
    expect(j.strategy).toBe('custom')
    expect(j.backend).toBe('wasm')
    // One thread per core on wasm (at most 8): the CLI splits each batch over the gradient workers too.
    expect(j.threads).toBe(Math.min(availableParallelism(), 8))
    expect(j.epochs).toBe(5)
    expect(j.out).toBe(out)
    expect(j.test_accuracy).toBeGreaterThan(2 / CLASSES.length)
    expect(readdirSync(out)).toEqual(
      expect.arrayContaining([
        'README.md',
        'labels.json',
        'metadata.json',
        'model.json',
        'model.onnx',
        'weights.bin'
      ])
    )
    expect(JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')).metrics.testAccuracy).toBe(
      j.test_accuracy
    )
  })

  it('evaluate reports accuracy and per-class figures on a folder', async () => {
    const r = await cli('evaluate', '--model', out, '--data', testFolder, '--json')
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.images).toBe(CLASSES.length * 30)
    expect(j.accuracy).toBeGreaterThan(2 / CLASSES.length)
    expect(j.per_class.map((c: { name: string }) => c.name).sort()).toEqual([...CLASSES].sort())
  })

  it('evaluate crops to the annotated regions for a model that was trained on crops', async () => {
    const csv = join(SHARED_DATA, 'annotations', 'gtsrb-test.csv')
    // This model does not crop: the regions are ignored, and it says so.
    const plain = await cli('evaluate', '--model', out, '--data', testFolder, '--annotations', csv)
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/does not crop to a region: --annotations is ignored/)
    // The same weights declared as trained on crops (what `import --crop-roi` records in the export).
    const cropping = join(tmp.dir, 'model-roi')
    cpSync(out, cropping, { recursive: true })
    const meta = JSON.parse(readFileSync(join(cropping, 'metadata.json'), 'utf8'))
    meta.preprocessing.cropToRoi = true
    writeFileSync(join(cropping, 'metadata.json'), JSON.stringify(meta))
    const whole = await cli('evaluate', '--model', cropping, '--data', testFolder)
    expect(whole.stdout).toMatch(/pass --annotations <csv> to crop these too/)
    const r = await cli('evaluate', '--model', cropping, '--data', testFolder, '--annotations', csv, '--json')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.images).toBe(CLASSES.length * 30)
    expect(j.cropped_to_roi).toBe(CLASSES.length * 30)
    const bad = await cli(
      'evaluate',
      '--model',
      cropping,
      '--data',
      testFolder,
      '--annotations',
      join(tmp.dir, 'nope.csv')
    )
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--annotations file not found/)
  })

  it('predict lists the top classes of each image', async () => {
    const img = join(testFolder, '14', readdirSync(join(testFolder, '14'))[0])
    const r = await cli('predict', '--model', out, img, '--top', '2', '--json')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.predictions).toHaveLength(1)
    expect(j.predictions[0].top).toHaveLength(2)
    expect(j.predictions[0].top[0].probability).toBeGreaterThanOrEqual(j.predictions[0].top[1].probability)
    const text = await cli('predict', '--model', out, img)
    expect(text.stdout).toMatch(/Time: \d+\.\d+ s/)
  })

  it('export copies a run to a new folder and refuses a non-empty one', async () => {
    const again = join(tmp.dir, 'again')
    const r = await cli('export', '--project', project, '--run', String(runId), '--out', again, '--json')
    expect(r.code).toBe(0)
    expect(existsSync(join(again, 'model.onnx'))).toBe(true)
    const refused = await cli('export', '--project', project, '--run', String(runId), '--out', again)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/not empty/)
  })

  it('draws a progress line on a terminal', async () => {
    const stdout = capture()
    const stderr = capture(true)
    const code = await runCli(
      [
        'train',
        '--project',
        project,
        '--strategy',
        'custom',
        '--epochs',
        '1',
        '--width',
        '0.25',
        '--fc-units',
        '32',
        '--no-batch-norm'
      ],
      { stdout, stderr, dataDir: join(tmp.dir, 'data') }
    )
    expect(code).toBe(0)
    expect(stderr.text()).toMatch(/\r.*epoch 1/)
    // No gradient worker given here: one thread, and the summary says so.
    expect(stdout.text()).toMatch(
      /Run \d+ \(custom\) on wasm, 1 thread: 1 epochs.*\n.*test accuracy: \d+\.\d%/
    )
  })

  it('bad command lines fail with a clear message', async () => {
    const noBase = await cli('train', '--project', project, '--strategy', 'fine-tune')
    expect(noBase.code).toBe(1)
    expect(noBase.stderr).toMatch(/needs --base/)
    const compactBase = await cli(
      'train',
      '--project',
      project,
      '--strategy',
      'feature-extraction',
      '--base',
      out,
      '--epochs',
      '1'
    )
    expect(compactBase.code).toBe(1)
    expect(compactBase.stderr).toMatch(/AlexNet base/)
    const badEpochs = await cli('train', '--project', project, '--strategy', 'custom', '--epochs', 'x')
    expect(badEpochs.code).toBe(1)
    expect(badEpochs.stderr).toMatch(/--epochs/)
  })
})
