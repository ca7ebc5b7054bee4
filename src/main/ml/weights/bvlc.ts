// The pretrained AlexNet weights file `bvlc-alexnet.npy` (BVLC Caffe weights converted for TensorFlow),
// read natively: an NPY object array holding a Python 2 pickle of {layer name: [W, b]}. Python reads it
// with `np.load(path, encoding='latin1', allow_pickle=True).item()`; here `npy.ts` and `pickle.ts` do the
// same without running Python or executing anything from the file.
//
// Weights keep the file's layouts: conv W is (kh, kw, inChannelsPerGroup, outChannels) (TF's HWIO;
// conv2/4/5 have two groups, hence 48/192), fc W is (in, out), b is (out). fc8 is the 1000-class
// ImageNet head, which transfer learning replaces, so it can be skipped.
//
// `readBvlcLayout` gives the same layers with shapes and dtypes only, from a few positioned reads: what a
// base check on the backend's event loop needs, without reading or converting the 244 MB of floats.
import { NpyError, parseNpy, readNpyStructure, toFloat32, withRegularFile } from './npy'
import { NdArray, describe, type PyKey, type PyValue } from './pickle'

export interface Float32Tensor {
  shape: number[]
  /** C-ordered (row-major) values; a copy, independent of the file buffer. */
  data: Float32Array
}

export interface BvlcLayer {
  W: Float32Tensor
  b: Float32Tensor
}

/** Layer name -> weights. A null-prototype object, so any layer name from a file is safe as a key. */
export type BvlcWeights = Record<string, BvlcLayer>

/** A layer's arrays as far as a shape check needs them; `BvlcLayer` fits it too. */
export interface BvlcLayerLayout {
  W: { shape: number[] }
  b: { shape: number[] }
}

/** Layer name -> shapes (null prototype, as `BvlcWeights`). */
export type BvlcLayout = Record<string, BvlcLayerLayout>

export interface BvlcLayerShape {
  W: number[]
  b: number[]
}

export type BvlcShapes = Record<string, BvlcLayerShape>

/** Every layer of the full-width `bvlc-alexnet.npy`. */
export const ALEXNET_BVLC_SHAPES: Readonly<BvlcShapes> = Object.freeze({
  conv1: { W: [11, 11, 3, 96], b: [96] },
  conv2: { W: [5, 5, 48, 256], b: [256] },
  conv3: { W: [3, 3, 256, 384], b: [384] },
  conv4: { W: [3, 3, 192, 384], b: [384] },
  conv5: { W: [3, 3, 192, 256], b: [256] },
  fc6: { W: [9216, 4096], b: [4096] },
  fc7: { W: [4096, 4096], b: [4096] },
  fc8: { W: [4096, 1000], b: [1000] }
})

export interface BvlcReadOptions {
  /** Layers not to convert (e.g. ['fc8'] when a new head replaces it); they are left out of the result. */
  skip?: readonly string[]
}

/** The file is not a BVLC weights file, or its layers do not fit the model. */
export class BvlcWeightsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BvlcWeightsError'
  }
}

/**
 * Reads a `bvlc-alexnet.npy`-style file (one read of the whole file, then one copy per array): a regular file
 * only, its header and structure checked first, and never more bytes than its open handle reported.
 */
export async function readBvlcWeights(path: string, options: BvlcReadOptions = {}): Promise<BvlcWeights> {
  let buf: Uint8Array
  try {
    buf = await withRegularFile(path, async (src) => {
      await readNpyStructure(src)
      return src.read(0, src.size)
    })
  } catch (e) {
    if (e instanceof NpyError) throw new BvlcWeightsError(`${path}: ${e.message}`)
    throw new BvlcWeightsError(`cannot read weights file ${path}: ${(e as Error).message}`)
  }
  return parseBvlcWeights(buf, { ...options, source: path })
}

/**
 * The layers of a BVLC weights file with their shapes, without reading the array data (a regular file only;
 * the same checks and messages as `readBvlcWeights`, except values that only a full read can see).
 */
export async function readBvlcLayout(path: string, options: BvlcReadOptions = {}): Promise<BvlcLayout> {
  const bad = (msg: string): never => {
    throw new BvlcWeightsError(`${path}: ${msg}`)
  }
  let value: PyValue
  try {
    value = (await withRegularFile(path, readNpyStructure)).value
  } catch (e) {
    if (e instanceof NpyError) return bad(e.message)
    throw new BvlcWeightsError(`cannot read weights file ${path}: ${(e as Error).message}`)
  }
  return layers(value, options, bad, (v, what) => ({ shape: [...checkedArray(v, what, bad).shape] }))
}

/** Parses the bytes of a BVLC weights file; `source` names it in error messages. */
export function parseBvlcWeights(
  buf: Uint8Array,
  options: BvlcReadOptions & { source?: string } = {}
): BvlcWeights {
  const source = options.source ?? 'weights file'
  const bad = (msg: string): never => {
    throw new BvlcWeightsError(`${source}: ${msg}`)
  }
  let value: PyValue
  try {
    value = parseNpy(buf).value
  } catch (e) {
    if (e instanceof NpyError) return bad(e.message)
    throw e
  }
  return layers(value, options, bad, (v, what) => tensor(v, what, bad))
}

type Bad = (msg: string) => never

/** The {name: [W, b]} dict of a parsed file, each array turned into a T by `array`. */
function layers<T>(
  value: PyValue,
  options: BvlcReadOptions,
  bad: Bad,
  array: (v: PyValue, what: string) => T
): Record<string, { W: T; b: T }> {
  const skip = new Set(options.skip ?? [])
  const dict = layerDict(value, bad)
  const out = Object.create(null) as Record<string, { W: T; b: T }>
  for (const [name, entry] of dict) {
    if (typeof name !== 'string') return bad(`layer names must be strings, found ${String(name)}`)
    if (!Array.isArray(entry) || entry.length !== 2) {
      return bad(`layer '${name}': expected [W, b] (a list of two numpy arrays), found ${describe(entry)}`)
    }
    if (skip.has(name)) continue
    out[name] = { W: array(entry[0], `layer '${name}' W`), b: array(entry[1], `layer '${name}' b`) }
  }
  return out
}

/** np.save(dict) stores a 0-d object array holding the dict; a bare pickled dict is accepted too. */
function layerDict(value: PyValue, bad: Bad): Map<PyKey, PyValue> {
  let v = value
  if (v instanceof NdArray && v.objects && v.shape.length === 0) v = v.objects[0]
  if (v instanceof Map) return v
  if (v instanceof NdArray && (v.raw || v.unreadAt !== null)) {
    return bad(
      `holds a single ${v.dtype.str} array of shape (${v.shape.join(', ')}), not a dict of layers ` +
        `{name: [W, b]}`
    )
  }
  return bad(`expected a dict of layers {name: [W, b]} (np.save of a Python dict), found ${describe(v)}`)
}

/** A numeric array of a float dtype, with or without its data (the dtype rule of `toFloat32`). */
function checkedArray(v: PyValue, what: string, bad: Bad): NdArray {
  if (!(v instanceof NdArray) || (!v.raw && v.unreadAt === null))
    return bad(`${what}: expected a numeric numpy array, found ${describe(v)}`)
  const dt = v.dtype
  if (dt.kind !== 'f' || (dt.itemsize !== 2 && dt.itemsize !== 4 && dt.itemsize !== 8)) {
    return bad(`${what}: unsupported dtype ${dt.str}; weights must be float32, float64 or float16`)
  }
  return v
}

function tensor(v: PyValue, what: string, bad: Bad): Float32Tensor {
  if (!(v instanceof NdArray) || !v.raw)
    return bad(`${what}: expected a numeric numpy array, found ${describe(v)}`)
  try {
    return { shape: [...v.shape], data: toFloat32(v, what) }
  } catch (e) {
    if (e instanceof NpyError) return bad(e.message)
    throw e
  }
}

const fmt = (shape: readonly number[]): string => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`

/**
 * Checks every layer of `expected` against `weights`; throws a BvlcWeightsError listing every missing
 * layer, unexpected layer and wrong shape. Layers in `skip` are not checked; when the file had them
 * anyway, a warning says they were left out.
 */
export function checkBvlcShapes(
  weights: BvlcLayout,
  expected: Readonly<BvlcShapes>,
  options: { skip?: readonly string[] } = {}
): { warnings: string[] } {
  const skip = new Set(options.skip ?? [])
  const problems: string[] = []
  const warnings: string[] = []
  const present = Object.keys(weights)
  for (const [name, want] of Object.entries(expected)) {
    if (skip.has(name)) continue
    const layer = Object.hasOwn(weights, name) ? weights[name] : undefined
    if (!layer) {
      problems.push(`layer '${name}' is missing (the file has: ${present.join(', ') || 'no layers'})`)
      continue
    }
    for (const part of ['W', 'b'] as const) {
      const got = layer[part].shape
      if (got.length !== want[part].length || got.some((d, i) => d !== want[part][i])) {
        problems.push(`layer '${name}' ${part}: expected shape ${fmt(want[part])}, found ${fmt(got)}`)
      }
    }
  }
  for (const name of present) {
    if (skip.has(name)) warnings.push(`layer '${name}' from the weights file is not used (skipped)`)
    else if (!Object.hasOwn(expected, name)) {
      problems.push(`layer '${name}' is in the weights file but not in the model (skip it to ignore it)`)
    }
  }
  if (problems.length) throw new BvlcWeightsError(`weights do not fit the model: ${problems.join('; ')}`)
  return { warnings }
}
