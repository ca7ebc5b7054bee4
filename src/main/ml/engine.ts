// What `loadEngine()` (ml/index.ts) hands out: the parts of the engine that load TF.js when imported. Kept
// apart from the facade so importing the facade never pulls TF.js into the main process.
export { runJob } from './worker/jobs'
export { createInference } from './worker/inference'
export { examplesFromFolder } from './data/folder'
export { evaluateExamples, loadClassifier, predictFiles } from './evaluate/classifier'
export { imageFeatures } from './features/imageFeatures'
export { diagnose, gatherFacts } from './tfjs/doctor'
