// The training channels of the IPC contract (src/shared/trainingIpc.ts) over TrainingService: argument
// checks at the boundary, then one service call each. No logic beyond that; to be spread into backend.ts's
// handlers, with `service.onEvent(e => emit('training-progress', e))` for the events.
import type { BaseModel, RunSummary } from '../../shared/training'
import type { TrainingHandlers } from '../../shared/trainingIpc'
import { STRATEGIES } from '../../shared/training'
import { recommendStrategy, validateTrainConfig } from '../ml/train/config'
import type { TrainingService } from '../training/trainingService'
import { Check, ValidationError } from './validate'

export type TrainingHandlerImpl = {
  [C in keyof TrainingHandlers]: (
    args: Parameters<TrainingHandlers[C]>[0]
  ) => Promise<ReturnType<TrainingHandlers[C]>>
}

/** A run as the UI sees it (no server-side folders). */
function summary(run: RunSummary): RunSummary {
  const {
    id,
    strategy,
    status,
    createdAt,
    config,
    backend,
    threads,
    epochsDone,
    valAccuracy,
    testAccuracy,
    seconds,
    modelDir,
    history
  } = run
  return {
    id,
    strategy,
    status,
    createdAt,
    config,
    backend,
    threads,
    epochsDone,
    valAccuracy,
    testAccuracy,
    seconds,
    modelDir,
    history
  }
}

export function createTrainingHandlers(service: TrainingService): TrainingHandlerImpl {
  const runId = (channel: string, args: unknown): number => new Check(channel, args).int('runId', { min: 1 })
  return {
    'training:defaults': async (args) => {
      const c = new Check('training:defaults', args)
      const strategy = c.oneOf('strategy', STRATEGIES)
      const base = (args as { base?: unknown }).base
      if (base !== undefined) {
        const b = base as { kind?: unknown; path?: unknown }
        if (!['none', 'bvlc-npy', 'studio-model'].includes(b?.kind as string))
          c.fail('base.kind', 'must be none, bvlc-npy or studio-model')
        if (b.kind !== 'none' && (typeof b.path !== 'string' || !b.path))
          c.fail('base.path', 'must be a path')
      }
      return service.defaults(strategy, base as BaseModel | undefined)
    },
    'training:recommend': async (args) => {
      const c = new Check('training:recommend', args)
      const imagesPerClass = c.int('imagesPerClass', { min: 0 })
      const similar = c.bool('similar')
      if (similar === undefined) c.fail('similar', 'must be true or false')
      const threshold = c.int('threshold', { min: 1, optional: true })
      return recommendStrategy({ imagesPerClass, similar: similar as boolean }, threshold ?? 500)
    },
    'training:start': async (args) => {
      new Check('training:start', args)
      let config
      try {
        config = validateTrainConfig((args as { config?: unknown }).config)
      } catch (err) {
        throw new ValidationError(`training:start: ${(err as Error).message}`)
      }
      return service.start(config)
    },
    'training:cancel': async (args) => ({ cancelled: service.cancel(runId('training:cancel', args)) }),
    'training:resume': async (args) => service.resume(runId('training:resume', args)),
    'training:list': async () => service.list().map(summary),
    'training:get': async (args) => summary(service.get(runId('training:get', args))),
    'training:running': async () => ({ runId: service.running }),
    'training:evaluate': async (args) => service.evaluate(runId('training:evaluate', args)),
    'training:evaluation': async (args) => service.evaluation(runId('training:evaluation', args)),
    'training:export': async (args) => {
      const c = new Check('training:export', args)
      const id = c.int('runId', { min: 1 })
      const outDir = c.string('outDir', { nonEmpty: true, max: 4096 })
      return service.exportRun(id, outDir)
    }
  }
}
