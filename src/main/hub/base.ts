// What a catalogue entry is as a training base: the file-based BaseModel its cached file stands for, and
// the BaseInfo the defaults need (format, architecture, input size). One mapping for the training service,
// the base check, the backend's defaults and the CLI.
import type { BaseModel } from '../../shared/training'
import { isTorchvisionArch, type BaseInfo } from '../ml'
import type { CatalogueEntry } from './catalogue'
import { HubError } from './errors'

/** The base that the entry's cached file at `path` is; an unknown torchvision architecture is refused. */
export function baseOfEntry(
  entry: Pick<CatalogueEntry, 'id' | 'format' | 'architecture'>,
  path: string
): Extract<BaseModel, { kind: 'bvlc-npy' | 'onnx' | 'torchvision-pth' }> {
  if (entry.format === 'bvlc-npy') return { kind: 'bvlc-npy', path }
  if (entry.format === 'onnx') return { kind: 'onnx', path }
  if (!isTorchvisionArch(entry.architecture))
    throw new HubError('catalogue', `hub model ${entry.id}: unknown architecture ${entry.architecture}`)
  return { kind: 'torchvision-pth', path, architecture: entry.architecture }
}

/** What the defaults need to know of a hub base. */
export function baseInfoOf(entry: Pick<CatalogueEntry, 'format' | 'architecture' | 'input_size'>): BaseInfo {
  return { format: entry.format, architecture: entry.architecture, inputSize: entry.input_size }
}
