// The layers torchvision's classifiers need (HardSwish, HardSigmoid, StochasticDepth) live with the studio's
// other custom layers (../../layers/torchvision.ts), which registerCustomLayers() registers in every process.
import { registerCustomLayers } from '../../layers'

export { HardSigmoid, HardSwish, StochasticDepth } from '../../layers/torchvision'

/** Registers the torchvision layers (with the studio's others) for tf.loadLayersModel. */
export function registerTorchvisionLayers(): void {
  registerCustomLayers()
}
