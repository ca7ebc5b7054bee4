// Where a completed run keeps its trained model (`<run folder>/model`, an export folder), for the studio
// jobs that use it: prediction, export preview and a run chosen as a base.
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { runModelDir } from '../project/paths'
import type { RunRecord } from '../db/runsRepo'
import { validationError } from '../errors'

/** The run's model folder; a run that did not complete (or lost its model) is refused with its status. */
export async function trainedModelDir(run: RunRecord): Promise<string> {
  const dir = run.runDir ? runModelDir(run.runDir) : null
  const present = dir
    ? await stat(join(dir, 'metadata.json')).then(
        (s) => s.isFile(),
        () => false
      )
    : false
  if (run.status !== 'completed' || !dir || !present) {
    throw validationError('training.noModel', { id: run.id, status: run.status })
  }
  return dir
}
