// `transfer-studio train --project <file> --strategy ...`: train a model on the project's train/val split
// with one of the tutorial's four strategies, evaluate it on the test split, and optionally export it.
// Training runs in this process (the CLI is already a separate process); Ctrl+C cancels within a batch.
// `train --project <file> --resume <run>` continues a cancelled, failed or interrupted run (a killed CLI,
// a crashed app) from its last checkpoint with the run's own settings, the way the app's training:resume does.
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { Option, type Command } from 'commander'
import {
  STRATEGIES,
  TORCHVISION_ARCHS,
  type TorchvisionArch,
  type BaseModel,
  type Strategy,
  type TrainConfig,
  type TrainingEvent
} from '../../../shared/training'
import { checkExportTarget, defaultTrainConfig, validateTrainConfig, type BaseInfo } from '../../ml'
import { ModelHubService, baseInfoOf } from '../../hub'
import { TrainingService, inProcessRunner } from '../../training/trainingService'
import { UserError, parseNumber, type CliContext, type CliOutput } from '../context'

interface TrainOptions {
  project: string
  strategy: Strategy
  base?: string
  /** The torchvision architecture of a `.pth` base. */
  architecture?: string
  epochs?: string
  batchSize?: string
  lr?: string
  optimizer: 'adam' | 'sgd-momentum'
  width?: string
  fcUnits?: string
  dropout?: string
  flattenDropout?: string
  inputSize?: string
  patience?: string
  lrSchedule?: 'constant' | 'one-cycle' | 'cosine'
  normalize?: 'mean' | 'std'
  pretrainedRate?: string
  augment?: boolean
  mirrorSigns?: boolean
  balanced?: boolean
  batchNorm: boolean
  seed?: string
  out?: string
  json?: boolean
  /** The id of a run to continue from its last checkpoint, instead of a new run. */
  resume?: string
}

const HUB_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/

export function baseOf(path: string | undefined, architecture?: string): BaseModel {
  if (!path) return { kind: 'none' }
  // `run:<id>`: a completed run of the project, resolved to its model folder by the training service.
  const run = /^run:(\d+)$/.exec(path)
  if (run) return { kind: 'run', runId: Number(run[1]) }
  const p = resolve(path)
  // A catalogue id (`resnet18`, see `models list`) when no such file is here; the hub resolves it.
  if (!existsSync(p) && HUB_ID.test(path)) return { kind: 'hub', id: path }
  if (!existsSync(p)) throw new UserError(`--base not found: ${p}`)
  if (statSync(p).isDirectory()) {
    if (!existsSync(resolve(p, 'model.json')))
      throw new UserError(`--base folder ${p} has no model.json (not a studio model)`)
    return { kind: 'studio-model', path: p }
  }
  if (/\.(pth|pt)$/i.test(p)) {
    if (!architecture || !(TORCHVISION_ARCHS as readonly string[]).includes(architecture))
      throw new UserError(
        `--base ${p} is a PyTorch file: name its network with --architecture <${TORCHVISION_ARCHS.join('|')}>`
      )
    return { kind: 'torchvision-pth', path: p, architecture: architecture as TorchvisionArch }
  }
  if (/\.onnx$/i.test(p)) return { kind: 'onnx', path: p }
  if (!p.endsWith('.npy'))
    throw new UserError(
      `--base must be a hub model id, a bvlc-alexnet.npy, .pth or .onnx file, or a studio model folder, got ${p}`
    )
  return { kind: 'bvlc-npy', path: p }
}

const positiveInt = (v: string, flag: string): number =>
  parseNumber(v, flag, (n) => Number.isInteger(n) && n > 0, '(a positive integer)')

/** The TrainConfig the options describe; defaults follow the strategy (see defaultTrainConfig). */
export function configFromOptions(o: TrainOptions, info?: BaseInfo): TrainConfig {
  if (!STRATEGIES.includes(o.strategy))
    throw new UserError(`--strategy must be one of ${STRATEGIES.join(', ')}`)
  const base = baseOf(o.base, o.architecture)
  if ((o.strategy === 'fine-tune' || o.strategy === 'feature-extraction') && base.kind === 'none') {
    throw new UserError(
      `--strategy ${o.strategy} needs --base <hub model id | bvlc-alexnet.npy | .pth | .onnx | studio model folder | run:<id>>`
    )
  }
  const c = defaultTrainConfig(o.strategy, base, info)
  const custom = o.strategy === 'custom'
  if (o.inputSize) c.preprocessing.inputSize = positiveInt(o.inputSize, '--input-size')
  if (o.width) c.model.width = parseNumber(o.width, '--width', (n) => n > 0 && n <= 4)
  if (o.fcUnits) c.model.fcUnits = positiveInt(o.fcUnits, '--fc-units')
  if (o.dropout) c.model.dropout = parseNumber(o.dropout, '--dropout', (n) => n >= 0 && n < 1, '(in [0, 1))')
  if (o.flattenDropout)
    c.model.flattenDropout = parseNumber(
      o.flattenDropout,
      '--flatten-dropout',
      (n) => n >= 0 && n < 1,
      '(in [0, 1))'
    )
  if (custom && o.batchNorm === false) c.model.batchNorm = false
  if (o.epochs) c.epochs = positiveInt(o.epochs, '--epochs')
  if (o.batchSize) c.batchSize = positiveInt(o.batchSize, '--batch-size')
  c.optimizer = o.optimizer
  if (o.lr) c.learningRate = parseNumber(o.lr, '--lr', (n) => n > 0 && n < 10)
  if (o.lrSchedule) c.lrSchedule = o.lrSchedule
  if (o.normalize === 'std') {
    c.preprocessing.meanSubtraction = 'per-image-std'
    c.preprocessing.scale = 1
  } else if (o.normalize === 'mean') {
    c.preprocessing.meanSubtraction = 'per-image'
  }
  if (o.pretrainedRate) {
    c.pretrainedRateFactor = parseNumber(o.pretrainedRate, '--pretrained-rate', (n) => n >= 0 && n <= 1)
  }
  if (o.patience)
    c.earlyStoppingPatience = parseNumber(o.patience, '--patience', (n) => Number.isInteger(n) && n >= 0)
  // --augment / --no-augment; neither keeps the strategy's default (on for the compact CNN).
  if (o.augment !== undefined) c.augmentation.enabled = o.augment
  if (o.mirrorSigns === false) c.augmentation.mirrorSigns = false
  c.classBalanced = Boolean(o.balanced)
  if (o.seed) c.seed = parseNumber(o.seed, '--seed', Number.isInteger)
  // The same check as `training:start`, so an option the flags above let through (a 5000 px input, a
  // negative seed) is refused here with the field named, not deep inside the trainer.
  try {
    return validateTrainConfig(c)
  } catch (err) {
    throw new UserError((err as Error).message)
  }
}

/**
 * The run `--resume` names, or null for a new run. The run keeps its settings, so the options that would
 * make a new config are refused rather than silently ignored.
 */
function resumeIdOf(o: TrainOptions): number | null {
  if (o.resume === undefined) return null
  const id = parseNumber(o.resume, '--resume', (n) => Number.isInteger(n) && n > 0, '(a run id)')
  const configFlags: (keyof TrainOptions)[] = [
    'strategy',
    'base',
    'architecture',
    'epochs',
    'batchSize',
    'lr',
    'width',
    'fcUnits',
    'dropout',
    'flattenDropout',
    'inputSize',
    'patience',
    'lrSchedule',
    'normalize',
    'pretrainedRate',
    'augment',
    'balanced',
    'seed'
  ]
  const given = configFlags.filter((k) => o[k] !== undefined)
  // --no-mirror-signs alone: commander's default for it is true, so only false was given.
  if (o.mirrorSigns === false) given.push('mirrorSigns')
  if (given.length > 0)
    throw new UserError(
      `--resume continues run ${id} with its own settings; leave out ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`
    )
  return id
}

/** One status line redrawn in place on a terminal. */
function progressLine(out: CliOutput): { update(e: TrainingEvent): void; done(): void } {
  let last = 0
  let epochLine = ''
  return {
    update(e) {
      let text: string | null = null
      if (e.type === 'phase') text = `${e.phase} ${e.total ? `${e.done}/${e.total}` : ''}`
      else if (e.type === 'epoch') {
        epochLine =
          `epoch ${e.epoch}/${e.totalEpochs} loss ${e.trainLoss.toFixed(3)} acc ${e.trainAccuracy.toFixed(3)}` +
          (e.valAccuracy !== null ? ` val ${e.valAccuracy.toFixed(3)}` : '') +
          ` eta ${Math.round(e.etaSeconds)} s`
        text = epochLine
      } else if (e.type === 'batch') {
        if (Date.now() - last < 200) return
        const width = 20
        const filled = Math.round((e.batch / Math.max(1, e.batchesPerEpoch)) * width)
        text =
          `epoch ${e.epoch} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] loss ${e.loss.toFixed(3)} ${Math.round(e.imagesPerSecond)} img/s` +
          (epochLine ? ` | ${epochLine}` : '')
      }
      if (text === null) return
      last = Date.now()
      out.write(`\r\x1b[2K${text}`)
    },
    done() {
      out.write('\r\x1b[2K')
    }
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description("train a classifier on the project's train/val split with one of the four strategies")
    .requiredOption('-p, --project <file>', 'project file (.tsproj)')
    // Mandatory for a new run; checked in the action, since --resume takes the run's own strategy.
    .addOption(new Option('--strategy <name>', 'transfer strategy').choices([...STRATEGIES]))
    .option(
      '--base <id|path>',
      'pretrained weights: a hub model id (see `models list`), bvlc-alexnet.npy, a torchvision .pth ' +
        '(with --architecture), an .onnx model (feature-extraction), a studio model folder, or run:<id>'
    )
    .option('--architecture <name>', `the network of a .pth base: ${TORCHVISION_ARCHS.join(', ')}`)
    .option('--epochs <n>', 'epochs (default 10; custom 21; feature-extraction 30)')
    .option('--batch-size <n>', 'images per batch (default 32; custom and feature-extraction 64)')
    .option('--lr <x>', 'learning rate (default 1e-3; custom and feature-extraction 3e-3)')
    .addOption(
      new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd-momentum']).default('adam')
    )
    .option(
      '--width <x>',
      'AlexNet width multiplier (default 1) / compact CNN channel multiplier (default 0.5)'
    )
    .option('--fc-units <n>', 'AlexNet fc6/fc7 units (4096) / compact hidden units (256)')
    .option('--dropout <x>', 'dropout rate before the last layer, 0 = none (default 0.5; custom 0.25)')
    .option(
      '--flatten-dropout <x>',
      'custom: dropout on the conv features before the hidden layer (default 0)'
    )
    .option('--input-size <n>', 'input side in pixels (227 for AlexNet, 32 for the compact CNN)')
    .addOption(
      new Option(
        '--lr-schedule <name>',
        'learning-rate schedule over the run (default constant; custom one-cycle)'
      ).choices(['constant', 'one-cycle', 'cosine'])
    )
    .addOption(
      new Option(
        '--normalize <how>',
        "per image: 'mean' subtracts its mean (the tutorial), 'std' also divides by its spread per channel"
      ).choices(['mean', 'std'])
    )
    .option('--patience <n>', 'early stopping patience in epochs, 0 = off (default 3; custom 0)')
    .option('--pretrained-rate <x>', 'fine-tune: learning-rate factor of pretrained layers (default 0.1)')
    .option(
      '--augment',
      'sign-friendly augmentation: shift, rotation, scale, brightness, contrast (custom: on)'
    )
    .option('--no-augment', 'no augmentation')
    .option(
      '--no-mirror-signs',
      'with augmentation, do not mirror the signs that have a mirror image (No entry; turn left <-> right)'
    )
    .option('--balanced', 'class-balanced sampling')
    .option('--no-batch-norm', 'custom: no batch normalisation (better for very short runs)')
    .option('--seed <n>', 'random seed (default 42)')
    .option('--out <dir>', 'export the trained model to this new folder')
    .option('--json', 'print one JSON object')
    .option(
      '--resume <run>',
      'continue this cancelled, failed or interrupted run from its last checkpoint, with its own settings'
    )
    .action(async (opts: TrainOptions) => {
      const hub = new ModelHubService()
      const resumeId = resumeIdOf(opts)
      let config: TrainConfig | null = null
      if (resumeId === null) {
        if (!opts.strategy)
          throw new UserError(
            `required option '--strategy <name>' not specified (one of ${STRATEGIES.join(', ')}), or --resume <run>`
          )
        const base = baseOf(opts.base, opts.architecture)
        let info: BaseInfo | undefined
        if (base.kind === 'hub') {
          const entry = (await hub.list()).find((m) => m.id === base.id)
          if (!entry)
            throw new UserError(
              `--base: no file ${resolve(base.id)} and no hub model "${base.id}" (see \`models list\`)`
            )
          info = baseInfoOf(entry)
        }
        config = configFromOptions(opts, info)
      }
      if (opts.out) {
        const out = resolve(opts.out)
        try {
          checkExportTarget(out)
        } catch (err) {
          throw new UserError(`--out: ${(err as Error).message}`)
        }
      }
      const summary = await ctx.withProject(opts.project, {}, async (backend) => {
        const service = new TrainingService(backend.services.projects, {
          runner: inProcessRunner(),
          // Every core on wasm, as the app trains: the gradient workers beside this thread (dataParallel.ts).
          gradWorker: ctx.gradWorker,
          models: hub,
          // Training runs on this thread here, so the run's heartbeat beats from a worker thread.
          heartbeatThread: true
        })
        // The project knows whether its import asked for ROI cropping; the options do not.
        if (config) config.preprocessing.cropToRoi = service.defaults(config.strategy).preprocessing.cropToRoi
        const bar = ctx.io.stderr.isTTY && !opts.json ? progressLine(ctx.io.stderr) : null
        let runId = -1
        let threads = 1
        const off = service.onEvent((e) => {
          if (e.type === 'started') threads = e.threads ?? 1
          bar?.update(e)
        })
        const onInterrupt = (): void => {
          ctx.io.stderr.write('\ncancelling the training...\n')
          service.cancel(runId)
        }
        process.once('SIGINT', onInterrupt)
        ctx.io.signal?.addEventListener('abort', onInterrupt, { once: true })
        try {
          try {
            runId = (config ? await service.start(config) : await service.resume(resumeId as number)).runId
          } catch (err) {
            throw new UserError((err as Error).message)
          }
          let run = await service.wait(runId)
          bar?.done()
          if (run.status === 'cancelled')
            throw new UserError(`training cancelled after ${run.epochsDone} epochs (run ${runId})`, 130)
          if (run.status === 'failed') throw new UserError(`training failed: ${run.error}`)
          const stats = await backend.handlers['library:stats']({})
          let testAccuracy: number | null = null
          if (stats.splits.test > 0) testAccuracy = (await service.evaluate(runId)).accuracy
          run = service.get(runId)
          const out = opts.out ? (await service.exportRun(runId, resolve(opts.out))).dir : null
          return { run, testAccuracy, out, threads }
        } finally {
          off()
          process.removeListener('SIGINT', onInterrupt)
          ctx.io.signal?.removeEventListener('abort', onInterrupt)
        }
      })
      const { run, testAccuracy, out, threads } = summary
      if (opts.json) {
        ctx.json({
          run_id: run.id,
          strategy: run.strategy,
          backend: run.backend,
          threads,
          epochs: run.epochsDone,
          val_accuracy: run.valAccuracy,
          test_accuracy: testAccuracy,
          seconds: run.seconds,
          out
        })
        return
      }
      const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`)
      ctx.print(
        `Run ${run.id} (${run.strategy}) on ${run.backend}, ${threads} thread${threads === 1 ? '' : 's'}: ${run.epochsDone} epochs in ${(run.seconds ?? 0).toFixed(1)} s`,
        `  validation accuracy: ${pct(run.valAccuracy)}, test accuracy: ${pct(testAccuracy)}`,
        ...(out ? [`  exported to ${out}`] : [])
      )
    })
}
