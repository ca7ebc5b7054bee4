// `transfer-studio evaluate --model <dir> --data <folder>`: accuracy of an exported model on a folder of
// labelled images (one subfolder per class, named by key or, with --names, by sign name). A model trained on
// images cropped to their GTSRB region of interest is evaluated on cropped images when --annotations gives
// the regions (a GTSRB annotation CSV whose paths are relative to the data folder).
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { parseGtsrbCsv, parseNamesCsv } from '../../library/labelSources'
import { loadEngine } from '../../ml'
import { UserError, table, type CliContext } from '../context'

/** One line on how the regions of interest were used, or null when there is nothing to say. */
function describeRoi(
  modelCrops: boolean,
  annotations: string | undefined,
  cropped: number,
  images: number
): string | null {
  if (!modelCrops)
    return annotations ? '  the model does not crop to a region: --annotations is ignored' : null
  if (!annotations)
    return '  the model was trained on images cropped to their annotated region; pass --annotations <csv> to crop these too (now used whole)'
  if (cropped < images)
    return `  ${images - cropped} of ${images} images have no region in ${annotations} and are used whole`
  return null
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('evaluate')
    .description('evaluate an exported model on a folder of labelled images')
    .requiredOption('--model <dir>', 'export folder (metadata.json, model.onnx and/or model.json)')
    .requiredOption('--data <folder>', 'folder with one subfolder per class')
    .option('--names <csv>', 'ClassId,SignName CSV: subfolders may be named by sign name')
    .option(
      '--annotations <csv>',
      'GTSRB annotation CSV (paths relative to --data): crop to each region, as a model trained with --crop-roi expects'
    )
    .option('--json', 'print one JSON object')
    .action(
      async (opts: { model: string; data: string; names?: string; annotations?: string; json?: boolean }) => {
        const modelDir = resolve(opts.model)
        if (!existsSync(resolve(modelDir, 'metadata.json')))
          throw new UserError(`--model ${modelDir} is not an export folder (no metadata.json)`)
        if (opts.names && !existsSync(opts.names))
          throw new UserError(`--names file not found: ${resolve(opts.names)}`)
        if (opts.annotations && !existsSync(opts.annotations))
          throw new UserError(`--annotations file not found: ${resolve(opts.annotations)}`)
        const names = opts.names ? parseNamesCsv(readFileSync(opts.names, 'utf8')) : undefined
        let annotations: ReturnType<typeof parseGtsrbCsv> | undefined
        if (opts.annotations) {
          try {
            annotations = parseGtsrbCsv(readFileSync(opts.annotations, 'utf8'), resolve(opts.data))
          } catch (err) {
            throw new UserError(`--annotations ${resolve(opts.annotations)}: ${(err as Error).message}`)
          }
        }
        // The engine (TF.js, onnxruntime) loads only for the commands that use it.
        const { evaluateExamples, examplesFromFolder, loadClassifier } = await loadEngine()
        const loaded = await loadClassifier(modelDir, { logger: (l) => ctx.io.stderr.write(`${l}\n`) })
        try {
          const folder = await examplesFromFolder(resolve(opts.data), {
            classes: loaded.labels.map((l) => ({ key: l.key, index: l.index, name: l.name })),
            names,
            annotations
          })
          if (folder.examples.length === 0) {
            throw new UserError(
              `no images of the model's classes in ${resolve(opts.data)}` +
                (folder.unknownFolders.length
                  ? ` (unknown folders: ${folder.unknownFolders.slice(0, 5).join(', ')})`
                  : '')
            )
          }
          const crops = loaded.classifier.preprocessing.cropToRoi
          const cropped = crops ? folder.withRoi : 0
          const roiNote = describeRoi(crops, opts.annotations, cropped, folder.examples.length)
          const r = await evaluateExamples(loaded, folder.examples, { signal: ctx.io.signal })
          if (opts.json) {
            ctx.json({
              accuracy: r.accuracy,
              top5_accuracy: r.top5Accuracy,
              images: r.images,
              cropped_to_roi: cropped,
              failed: r.failed,
              unknown_folders: folder.unknownFolders,
              per_class: r.perClass.map((c) => ({
                class_id: c.classId,
                name: c.name,
                precision: c.precision,
                recall: c.recall,
                support: c.support
              }))
            })
            return
          }
          ctx.print(
            `Accuracy ${(r.accuracy * 100).toFixed(1)}% (top-5 ${(r.top5Accuracy * 100).toFixed(1)}%) on ${r.images} images` +
              (cropped ? `, ${cropped} cropped to their annotated region` : ''),
            ...(roiNote ? [roiNote] : []),
            ...(r.failed.length
              ? [
                  `  ${r.failed.length} images could not be read, e.g. ${r.failed[0].path}: ${r.failed[0].reason}`
                ]
              : []),
            ...(folder.unknownFolders.length
              ? [`  skipped folders of unknown classes: ${folder.unknownFolders.join(', ')}`]
              : []),
            ...table([
              ['  ', 'class', 'precision', 'recall', 'images'],
              ...r.perClass.map((c) => ['  ', c.name, c.precision.toFixed(3), c.recall.toFixed(3), c.support])
            ])
          )
        } finally {
          await loaded.classifier.dispose()
        }
      }
    )
}
