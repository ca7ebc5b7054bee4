// The engine's one door for the rest of the app (training/, backend/, cli/). Everything exported here loads
// without TF.js or onnxruntime sessions, so the main process can check configs, bases and costs cheaply; the
// TF.js-backed work (training, evaluation, prediction) runs in the worker processes under worker/, and the
// few callers that run it in their own process (the CLI, in-process test runners) get it through
// `loadEngine()`, which loads TF.js on first use.
export { defaultTrainConfig, recommendStrategy, validateTrainConfig, type BaseInfo } from './train/config'
export { isTorchvisionArch, TORCHVISION_PARAMS } from './models/torchvision/spec'
export { checkStateDictShapes } from './models/torchvision/stateDict'

/** A `.pth` file's tensor names, shapes and dtypes, without its data (weights/pth.ts, loaded on first use). */
export const readPthStructure = async (
  path: string
): Promise<Awaited<ReturnType<typeof import('./weights/pth').readPthStructure>>> =>
  (await import('./weights/pth')).readPthStructure(path)

/** An ONNX model's image input and feature output (features/onnxExtractor.ts, loaded on first use). */
export const inspectOnnxModel = async (
  path: string
): Promise<Awaited<ReturnType<typeof import('./features/onnxExtractor').inspectOnnxModel>>> =>
  (await import('./features/onnxExtractor')).inspectOnnxModel(path)
export { alexnetWeightShapes, modelCost, type ModelCost } from './models/shapes'
export { MAX_DEFAULT_THREADS, threadSpeedup, trainThreads } from './train/threads'
export { ALEXNET_BVLC_SHAPES, checkBvlcShapes, readBvlcLayout } from './weights/bvlc'
export { checkExportTarget, copyExportFolder, type ExportResult } from './export/folder'
export { loadOnnxRuntime, onnxRuntimeAvailable } from './evaluate/onnxRuntime'
export type { Diagnosis, MachineFacts } from './tfjs/doctor'
export type { ClassLabel, Example } from './data/types'
export type {
  EvaluateJobResult,
  Job,
  JobResult,
  ReviewJob,
  ReviewJobResult,
  TrainJobResult
} from './worker/jobs'
export type { ChildMessage, ParentMessage } from './worker/trainWorker'
export type { InferenceReply, InferenceRequest } from './worker/inferenceWorker'
export type { Inference } from './worker/inference'
export type { PredictFile } from './evaluate/classifier'
export type { WorkerEntry } from './train/dataParallel'

/** The TF.js-backed engine, loaded on first use: jobs, classifiers, folder data. */
export const loadEngine = (): Promise<typeof import('./engine')> => import('./engine')
