// Entry of the inference child process (`child_process.fork` of the built out/main/inferenceWorker.js). It
// decodes images and runs trained classifiers (onnxruntime or TF.js) for `training:predict`, so neither the
// decoding nor a TF.js fallback ever runs on the backend's event loop. The process lives as long as the
// backend and keeps each loaded classifier, so predicting again with the same run costs no reload.
// Protocol (plain JSON):
//   parent -> child  { type: 'predict', id, modelDir, files, top }   { type: 'forget' }
//   child -> parent  { type: 'ready' }  { type: 'result', id, predictions }  { type: 'error', id, error }
import type { Prediction } from '../../../shared/training'
import type { PredictFile } from '../evaluate/classifier'
import { createInference } from './inference'

export type InferenceRequest =
  { type: 'predict'; id: number; modelDir: string; files: PredictFile[]; top: number } | { type: 'forget' }
export type InferenceReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; predictions: Prediction[] }
  | { type: 'error'; id: number; error: { name: string; message: string } }

function send(msg: InferenceReply): void {
  process.send?.(msg)
}

if (process.send) {
  const inference = createInference()
  process.on('message', (msg: InferenceRequest) => {
    if (msg.type === 'forget') {
      void inference.forget()
      return
    }
    if (msg.type !== 'predict') return
    inference
      .predict(msg.modelDir, msg.files, msg.top)
      .then((predictions) => send({ type: 'result', id: msg.id, predictions }))
      .catch((err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err))
        send({ type: 'error', id: msg.id, error: { name: e.name, message: e.message } })
      })
  })
  // The parent going away (app quit, crash) ends this process too.
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready' })
}
