// What an export of a run would write (`training:exportPreview`) and whether the chosen folder can take it,
// without writing anything. The file list is exactly what `copyExportFolder` leaves in the target: the
// run's model folder plus the README it writes.
import { constants } from 'node:fs'
import { access, readdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { TrainingService } from './trainingService'
import { trainedModelDir } from './runModel'

/** Files of an export folder, with what each is for (see src/main/ml/export/folder.ts). */
const EXPORT_FILE_DESCRIPTIONS: Record<string, string> = {
  'metadata.json': 'Labels (output index to class), preprocessing, strategy and metrics.',
  'model.json': 'TF.js layers model: topology and the weights manifest.',
  'model.onnx': 'The same network as ONNX (NHWC float32 input), for onnxruntime and other tools.',
  'base.onnx': 'The frozen ONNX base the head was trained on (a copy of your model), for onnxruntime.',
  'head.onnx': "The trained head: the base's features in, class probabilities out (see README.md).",
  'labels.json': 'Output index to class: id, key and name of each class, in output order.',
  'README.md': 'How to feed an image to the model and read its output.'
}

export function describeExportFile(name: string): string {
  if (EXPORT_FILE_DESCRIPTIONS[name]) return EXPORT_FILE_DESCRIPTIONS[name]
  if (name.endsWith('.bin')) return 'TF.js weights shard (binary float32), referenced by model.json.'
  return 'Part of the trained model folder.'
}

export interface ExportPreview {
  files: { name: string; description: string }[]
  problem: string | null
}

/** The files an export of `runId` to `outDir` writes, with what each is for, and why it cannot (or null). */
export async function exportPreview(
  training: TrainingService,
  runId: number,
  outDir: string
): Promise<ExportPreview> {
  const source = await trainedModelDir(training.get(runId))
  const names = new Set(await readdir(source))
  names.add('README.md')
  const files = [...names].sort().map((name) => ({ name, description: describeExportFile(name) }))
  return { files, problem: await exportProblem(resolve(outDir)) }
}

/** Why `dir` cannot take an export (it must be an empty folder, or creatable), or null when it can. */
export async function exportProblem(dir: string): Promise<string | null> {
  const writable = (p: string): Promise<boolean> =>
    access(p, constants.W_OK).then(
      () => true,
      () => false
    )
  const statOf = (p: string) => stat(p).catch(() => null)
  const st = await statOf(dir)
  if (st) {
    if (!st.isDirectory()) return `${dir} is a file; choose a new or empty folder.`
    if ((await readdir(dir)).length > 0) return `${dir} is not empty; choose a new or empty folder.`
    // The export is written beside the target and renamed into place, so the parent must be writable too.
    if (!(await writable(dir)) || !(await writable(dirname(dir)))) return `No permission to write in ${dir}.`
    return null
  }
  let parent = dirname(dir)
  let pst = await statOf(parent)
  while (!pst && dirname(parent) !== parent) {
    parent = dirname(parent)
    pst = await statOf(parent)
  }
  if (!pst) return `No folder exists above ${dir}.`
  if (!pst.isDirectory()) return `${parent} is a file, so no folder can be created inside it.`
  if (!(await writable(parent))) return `No permission to create ${dir} (${parent} is not writable).`
  return null
}
