// The studio's channels around the runs (base checks, time estimates, prediction, export preview) and the
// system's (what the backend runs on, the doctor's diagnosis for the About screen, native dialogs): parse, then one call each.
import { cpus, platform } from 'node:os'
import type { HandlerArgs, SystemResults } from '../../shared/ipc'
import { onnxRuntimeAvailable } from '../ml'
import type { BaseCheckService } from '../training/baseCheck'
import type { DoctorService } from '../training/doctorService'
import type { EstimateService } from '../training/estimate'
import { exportPreview } from '../training/exportPreview'
import type { PredictionService } from '../training/prediction'
import type { TrainingService } from '../training/trainingService'
import { defineHandlers } from './parse'

export type DialogOpenArgs = HandlerArgs<'dialog:open'>

export interface SystemDeps {
  training: TrainingService
  baseCheck: BaseCheckService
  estimates: EstimateService
  prediction: PredictionService
  /** The About screen's facts: the doctor's diagnosis of the process that trains. */
  doctor: DoctorService
  /** Native file dialogs (the desktop app); without them `dialog:open` answers `supported: false`. */
  dialogs?: { open(args: DialogOpenArgs): Promise<string[]> }
  /** True inside the Electron app. */
  desktop: boolean
  appVersion: string
}

export function createSystemHandlers(deps: SystemDeps) {
  const { training, baseCheck, estimates, prediction, dialogs } = deps
  return defineHandlers<keyof SystemResults>({
    'system:info': () => ({
      backend: estimates.backend(),
      onnxRuntime: onnxRuntimeAvailable(),
      cpus: cpus().length,
      platform: platform(),
      appVersion: deps.appVersion,
      desktop: deps.desktop
    }),
    'system:doctor': () => deps.doctor.report(),
    'training:validateBase': ({ base, strategy }) => baseCheck.validateBase(base, strategy),
    'training:estimate': ({ config }) => estimates.estimate(config),
    'training:predict': ({ runId, files, top }) => prediction.predict(runId, files, top),
    'training:exportPreview': ({ runId, outDir }) => exportPreview(training, runId, outDir),
    'dialog:open': async (args) =>
      dialogs ? { supported: true, paths: await dialogs.open(args) } : { supported: false, paths: [] }
  })
}
