// `transfer-studio features --base <id|file> [--architecture <arch>] <images...> --json`: the vectors that
// feature extraction trains on, for image files: fc7 after its ReLU for the BVLC AlexNet, the input of the
// last Linear (eval mode) for a torchvision model, the found or named output for an ONNX model.
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { loadEngine, type BaseInfo } from '../../ml'
import { ModelHubService, baseInfoOf, baseOfEntry } from '../../hub'
import { baseOf } from './train'
import { UserError, parseNumber, type CliContext } from '../context'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('features')
    .description('print the feature vectors of image files under a pretrained base')
    .requiredOption(
      '--base <id|file>',
      'a hub model id (see `models list`), bvlc-alexnet.npy, a torchvision .pth (with --architecture) or an .onnx model'
    )
    .option('--architecture <name>', 'the network of a .pth file (resnet18, mobilenet_v3_small, ...)')
    .option(
      '--output <name>',
      'ONNX: the output that holds the features (default: the input of the last Gemm/MatMul)'
    )
    .option('--batch-size <n>', 'images per forward pass', '16')
    .argument('<images...>', 'image files')
    .option('--json', 'print one JSON object')
    .action(
      async (
        images: string[],
        opts: { base: string; architecture?: string; output?: string; batchSize: string; json?: boolean }
      ) => {
        const batchSize = parseNumber(opts.batchSize, '--batch-size', (n) => Number.isInteger(n) && n > 0)
        let base = baseOf(opts.base, opts.architecture)
        let info: BaseInfo | undefined
        if (base.kind === 'hub') {
          const hub = new ModelHubService()
          const { entry, path } = await hub.resolve(base.id).catch((err: Error) => {
            throw new UserError(err.message)
          })
          info = baseInfoOf(entry)
          base = baseOfEntry(entry, path)
        }
        if (base.kind === 'onnx' && opts.output) base = { ...base, output: opts.output }
        if (base.kind === 'none' || base.kind === 'run' || base.kind === 'studio-model')
          throw new UserError('--base must be a hub model id, a bvlc-alexnet.npy, .pth or .onnx file')
        const { imageFeatures } = await loadEngine()
        const result = await imageFeatures({
          base,
          info,
          images: images.map((p) => resolve(p)),
          batchSize,
          signal: ctx.io.signal
        })
        if (opts.json) {
          ctx.json({
            dims: result.dims,
            features: result.features,
            paths: result.paths,
            failed: result.failed
          })
        } else {
          ctx.print(`${result.features.length} images, ${result.dims} values each (${result.engine})`)
          for (const [i, p] of result.paths.entries())
            ctx.print(
              `${p}: ${result.features[i]
                .slice(0, 4)
                .map((v) => v.toFixed(4))
                .join(' ')} ...`
            )
          for (const f of result.failed) ctx.print(`${f.path}: could not be read: ${f.reason}`)
        }
        if (result.features.length === 0) throw new UserError('no image could be read')
      }
    )
}
