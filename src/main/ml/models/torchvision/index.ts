// torchvision 0.14's ImageNet classifiers in TF.js: AlexNet (torchvision's 64-192-384-256-256 variant),
// ResNet-18/50, MobileNetV2, MobileNetV3 large/small and EfficientNet-B0, built exactly as torchvision
// defines them, fresh or from a PyTorch state dict. The TF-free parts (spec.ts, stateDict.ts) can be
// imported on their own by code that must not load TF.js.
export {
  TORCHVISION_ARCHS,
  TORCHVISION_INPUT_SIZE,
  TORCHVISION_PARAMS,
  TORCHVISION_PREPROCESSING,
  expectedStateDict,
  isTorchvisionArch,
  makeDivisible,
  parameterCount,
  torchvisionSpec,
  type ArchSpec,
  type TorchvisionArch
} from './spec'
export { checkStateDict, checkStateDictShapes, type TorchStateDict, type TorchTensor } from './stateDict'
export { HardSigmoid, HardSwish, StochasticDepth, registerTorchvisionLayers } from './layers'
export {
  createTorchvisionModel,
  torchvisionFromStateDict,
  type TorchvisionFromStateDictOptions,
  type TorchvisionModel,
  type TorchvisionOptions
} from './build'
