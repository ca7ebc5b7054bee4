// What an export of a run would write (`training:exportPreview`) and whether the chosen folder can take it,
// without writing anything. The file list is exactly what `copyExportFolder` leaves in the target: the
// run's model folder plus the README it writes.
import { constants } from 'node:fs'
import { access, readdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { TrainingService } from './trainingService'
import { trainedModelDir } from './runModel'
import { formatMessage, type MessageKey } from '../../shared/messages'

/** Files of an export folder, with the catalogue key of what each is for (see src/main/ml/export/folder.ts). */
const EXPORT_FILE_KEYS: Record<string, MessageKey> = {
  'metadata.json': 'exportFile.metadata',
  'model.json': 'exportFile.model',
  'model.onnx': 'exportFile.onnx',
  'base.onnx': 'exportFile.base',
  'head.onnx': 'exportFile.head',
  'labels.json': 'exportFile.labels',
  'README.md': 'exportFile.readme'
}

/** The catalogue key saying what an export file is for (the renderer words it in its language). */
export function exportFileKey(name: string): MessageKey {
  if (EXPORT_FILE_KEYS[name]) return EXPORT_FILE_KEYS[name]
  return name.endsWith('.bin') ? 'exportFile.shard' : 'exportFile.other'
}

export function describeExportFile(name: string): string {
  return formatMessage(exportFileKey(name))
}

/** Why a folder cannot take an export, as a catalogue key and its parameters. */
export interface ExportProblem {
  code: MessageKey
  params: Record<string, string>
}

export interface ExportPreview {
  files: { name: string; description: string; code: MessageKey }[]
  problem: string | null
  problemCode: MessageKey | null
  problemParams: Record<string, string> | null
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
  const files = [...names].sort().map((name) => {
    const code = exportFileKey(name)
    return { name, description: formatMessage(code), code }
  })
  const problem = await exportProblemCoded(resolve(outDir))
  return {
    files,
    problem: problem ? formatMessage(problem.code, problem.params) : null,
    problemCode: problem?.code ?? null,
    problemParams: problem?.params ?? null
  }
}

/** Why `dir` cannot take an export (it must be an empty folder, or creatable), or null when it can. */
export async function exportProblem(dir: string): Promise<string | null> {
  const problem = await exportProblemCoded(dir)
  return problem ? formatMessage(problem.code, problem.params) : null
}

/** `exportProblem` as a catalogue key and parameters. */
export async function exportProblemCoded(dir: string): Promise<ExportProblem | null> {
  const writable = (p: string): Promise<boolean> =>
    access(p, constants.W_OK).then(
      () => true,
      () => false
    )
  const statOf = (p: string) => stat(p).catch(() => null)
  const st = await statOf(dir)
  if (st) {
    if (!st.isDirectory()) return { code: 'export.problemFile', params: { path: dir } }
    if ((await readdir(dir)).length > 0) return { code: 'export.problemNotEmpty', params: { path: dir } }
    // The export is written beside the target and renamed into place, so the parent must be writable too.
    if (!(await writable(dir)) || !(await writable(dirname(dir))))
      return { code: 'export.problemNoPermission', params: { path: dir } }
    return null
  }
  let parent = dirname(dir)
  let pst = await statOf(parent)
  while (!pst && dirname(parent) !== parent) {
    parent = dirname(parent)
    pst = await statOf(parent)
  }
  if (!pst) return { code: 'export.problemNoParent', params: { path: dir } }
  if (!pst.isDirectory()) return { code: 'export.problemParentFile', params: { parent } }
  if (!(await writable(parent)))
    return { code: 'export.problemParentReadOnly', params: { path: dir, parent } }
  return null
}
