// The training channels (src/shared/trainingIpc.ts) over TrainingService: parse, then one call each.
import type { BaseModel, RunSummary } from '../../shared/training'
import { baseInfoOf, type ModelHub } from '../hub'
import type { TrainingResults } from '../../shared/trainingIpc'
import { recommendStrategy, type BaseInfo } from '../ml'
import type { TrainingService } from '../training/trainingService'
import { defineHandlers, type HandlerSlice } from './parse'

export type TrainingHandlerImpl = HandlerSlice<keyof TrainingResults>

// What of a run the UI sees: an allowlist, so a server-side field (run folder, raw error) added to the run
// record later does not leak; typed by RunSummary, so a field added to the summary must be listed here.
const SUMMARY_FIELDS: Record<keyof RunSummary, true> = {
  id: true,
  strategy: true,
  status: true,
  createdAt: true,
  config: true,
  backend: true,
  threads: true,
  epochsDone: true,
  valAccuracy: true,
  testAccuracy: true,
  seconds: true,
  hasModel: true,
  trainImages: true,
  valImages: true,
  history: true
}

function summary(run: RunSummary): RunSummary {
  const out: Partial<Record<keyof RunSummary, unknown>> = {}
  for (const key of Object.keys(SUMMARY_FIELDS) as (keyof RunSummary)[]) out[key] = run[key]
  return out as RunSummary
}

export interface TrainingDeps {
  training: TrainingService
  /** The hub's catalogue, for the defaults of a hub base (its architecture and input size). */
  hub?: Pick<ModelHub, 'list'>
}

export function createTrainingHandlers(deps: TrainingDeps): TrainingHandlerImpl {
  const { training: service, hub } = deps
  /** What the defaults need to know of a hub base: its format, architecture and input size. */
  async function infoOf(base: BaseModel | undefined): Promise<BaseInfo | undefined> {
    if (base?.kind !== 'hub' || !hub) return undefined
    const entry = (await hub.list()).find((m) => m.id === base.id)
    return entry ? baseInfoOf(entry) : undefined
  }
  return defineHandlers<keyof TrainingResults>({
    'training:defaults': async ({ strategy, base }) => service.defaults(strategy, base, await infoOf(base)),
    'training:recommend': ({ imagesPerClass, similar, threshold }) =>
      recommendStrategy({ imagesPerClass, similar }, threshold),
    'training:start': ({ config }) => service.start(config),
    'training:cancel': ({ runId }) => ({ cancelled: service.cancel(runId) }),
    'training:resume': ({ runId }) => service.resume(runId),
    'training:list': () => service.list().map(summary),
    'training:get': ({ runId }) => summary(service.get(runId)),
    'training:running': () => ({ runId: service.running }),
    'training:history': ({ runId }) => service.history(runId),
    // The service announces the predictions it stored (onLibraryChanged, forwarded by index.ts).
    'training:evaluate': ({ runId }) => service.evaluate(runId),
    'training:evaluation': ({ runId }) => service.evaluation(runId),
    'training:export': ({ runId, outDir }) => service.exportRun(runId, outDir)
  })
}
