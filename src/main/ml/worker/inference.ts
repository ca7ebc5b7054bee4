// Prediction with trained run models, keeping each loaded classifier: what the inference worker process
// (inferenceWorker.ts) runs. TF.js and onnxruntime are imported on first use.
import type { Prediction } from '../../../shared/training'
import type { LoadedClassifier, PredictFile } from '../evaluate/classifier'

export interface Inference {
  /** Top-`top` per file with the model in `modelDir` (loaded once, then kept). */
  predict(modelDir: string, files: PredictFile[], top: number): Promise<Prediction[]>
  /** Releases every loaded classifier. */
  forget(): Promise<void>
}

/** Loaded classifiers per model folder, and the prediction over them. */
export function createInference(): Inference {
  const loaded = new Map<string, Promise<LoadedClassifier>>()
  const classifier = (modelDir: string): Promise<LoadedClassifier> => {
    let l = loaded.get(modelDir)
    if (!l) {
      l = import('../evaluate/classifier').then((m) => m.loadClassifier(modelDir, { logger: () => {} }))
      // A failed load is not kept: the next call tries again.
      l.catch(() => loaded.delete(modelDir))
      loaded.set(modelDir, l)
    }
    return l
  }
  return {
    async predict(modelDir, files, top) {
      const c = await classifier(modelDir)
      const { predictFileList } = await import('../evaluate/classifier')
      return predictFileList(c, files, top)
    },
    async forget() {
      const all = [...loaded.values()]
      loaded.clear()
      await Promise.all(all.map((p) => p.then((l) => l.classifier.dispose()).catch(() => {})))
    }
  }
}
