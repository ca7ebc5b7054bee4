// `transfer-studio predict --model <dir> <image>...`: the top classes of each image, like the tutorial's
// closing example (top-5 sign names and the time taken).
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { loadEngine } from '../../ml'
import { UserError, parseNumber, type CliContext } from '../context'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('predict')
    .description('classify image files with an exported model')
    .requiredOption('--model <dir>', 'export folder (metadata.json, model.onnx and/or model.json)')
    .argument('<images...>', 'image files')
    .option('--top <n>', 'classes to show per image', '5')
    .option('--json', 'print one JSON object')
    .action(async (images: string[], opts: { model: string; top: string; json?: boolean }) => {
      const k = parseNumber(opts.top, '--top', (n) => Number.isInteger(n) && n > 0, '(a positive integer)')
      const modelDir = resolve(opts.model)
      if (!existsSync(resolve(modelDir, 'metadata.json')))
        throw new UserError(`--model ${modelDir} is not an export folder (no metadata.json)`)
      const started = Date.now()
      // The engine (TF.js, onnxruntime) loads only for the commands that use it.
      const { loadClassifier, predictFiles } = await loadEngine()
      const loaded = await loadClassifier(modelDir, { logger: (l) => ctx.io.stderr.write(`${l}\n`) })
      try {
        const { predictions, failed } = await predictFiles(
          loaded,
          images.map((p) => resolve(p)),
          { k, signal: ctx.io.signal }
        )
        const seconds = (Date.now() - started) / 1000
        if (opts.json) {
          ctx.json({ predictions, failed, seconds })
        } else {
          for (const p of predictions) {
            ctx.print(
              p.path,
              ...p.top.map((t) => `  ${(t.probability * 100).toFixed(1).padStart(5)}%  ${t.name} (${t.key})`)
            )
          }
          for (const f of failed) ctx.print(`${f.path}: could not be read: ${f.reason}`)
          ctx.print(`Time: ${seconds.toFixed(3)} s`)
        }
        if (predictions.length === 0) throw new UserError('no image could be read')
      } finally {
        await loaded.classifier.dispose()
      }
    })
}
