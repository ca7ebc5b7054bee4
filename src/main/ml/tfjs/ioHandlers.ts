// TF.js save/load handlers for a folder on disk (model.json + one weights.bin), for plain @tensorflow/tfjs
// under Node: its `file://` scheme only exists when tfjs-node is loaded, which is often not installed.
// The layout is the one tfjs-node writes, so either side can read the other's folders.
// Loading is bounded (STYLE.md 17): model.json is capped, every weights path must stay inside the folder once
// symlinks are resolved, each weights file must be a regular file, and the files of a manifest group must
// hold exactly the bytes its weights' shapes and dtypes declare, checked before any of them is read.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { MAX_JSON_BYTES, openRegularFile, readJsonBounded, resolveInside } from '../../fs/safeFile'

const MODEL_JSON = 'model.json'
const WEIGHTS_BIN = 'weights.bin'

/** The most weight bytes a folder may declare (an ArrayBuffer, and far above AlexNet's 233 MB). */
export const MAX_WEIGHT_BYTES = 2 ** 31 - 1

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2
}

/** Bytes a manifest entry occupies in the weights files, from its shape and (quantized) dtype. */
function entryBytes(entry: tf.io.WeightsManifestEntry, jsonPath: string): number {
  const shape = entry?.shape
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${jsonPath}: the weight "${entry?.name}" has no valid shape.`)
  }
  const dtype = entry.quantization?.dtype ?? entry.dtype
  const size = DTYPE_BYTES[dtype]
  if (!size) throw new Error(`${jsonPath}: the weight "${entry.name}" has the unsupported dtype ${dtype}.`)
  return shape.reduce((n, d) => n * d, 1) * size
}

/** Concatenates weightData, which tfjs 4 may hand over as one buffer or a list of buffers. */
function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0)
  const buffers = Array.isArray(data) ? data : [data]
  const total = buffers.reduce((n, b) => n + b.byteLength, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const b of buffers) {
    out.set(new Uint8Array(b), at)
    at += b.byteLength
  }
  return out
}

/** `model.save(fileSaveHandler(dir))` writes `dir/model.json` and `dir/weights.bin` (creating `dir`). */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('binary model topologies are not supported; save a layers model')
      }
      mkdirSync(dir, { recursive: true })
      const bytes = weightBytes(artifacts.weightData)
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {})
      }
      writeFileSync(join(dir, WEIGHTS_BIN), bytes)
      writeFileSync(join(dir, MODEL_JSON), JSON.stringify(modelJson))
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: bytes.byteLength
        }
      }
    }
  }
}

/** `tf.loadLayersModel(fileLoadHandler(dir))` reads a folder written by fileSaveHandler or tfjs-node. */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON)
      if (!existsSync(jsonPath)) throw new Error(`no ${MODEL_JSON} in ${dir}: not a saved model folder`)
      type ModelJson = {
        modelTopology: object
        format?: string
        generatedBy?: string
        convertedBy?: string | null
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
        trainingConfig?: tf.io.TrainingConfig
        userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata']
      }
      const json = (await readJsonBounded(jsonPath, MAX_JSON_BYTES, 'model description')) as ModelJson
      if (!json || typeof json !== 'object') throw new Error(`${jsonPath} does not describe a model.`)
      const manifest = json.weightsManifest ?? []
      if (!Array.isArray(manifest)) throw new Error(`${jsonPath}: weightsManifest is not a list.`)
      // Every file is resolved, checked and measured before anything is read.
      const specs: tf.io.WeightsManifestEntry[] = []
      const files: { path: string; size: number }[] = []
      let total = 0
      for (const group of manifest) {
        if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
          throw new Error(`${jsonPath}: a weightsManifest group has no paths or weights list.`)
        }
        const declared = group.weights.reduce((n, w) => n + entryBytes(w, jsonPath), 0)
        total += declared
        if (total > MAX_WEIGHT_BYTES) {
          throw new Error(`${jsonPath} declares more than ${MAX_WEIGHT_BYTES} bytes of weights.`)
        }
        let held = 0
        const groupFiles: { path: string; size: number }[] = []
        for (const p of group.paths) {
          const real = await resolveInside(dir, p, 'weights file')
          const file = await openRegularFile(real, { what: 'weights file', maxBytes: MAX_WEIGHT_BYTES })
          await file.close()
          groupFiles.push({ path: real, size: file.size })
          held += file.size
        }
        if (held !== declared) {
          throw new Error(
            `${jsonPath} declares ${declared} bytes of weights in ${group.paths.join(', ')}, ` +
              `but the files hold ${held} bytes.`
          )
        }
        specs.push(...group.weights)
        files.push(...groupFiles)
      }
      const all = new Uint8Array(total)
      let at = 0
      for (const f of files) {
        const file = await openRegularFile(f.path, { what: 'weights file', exactBytes: f.size })
        try {
          await file.read(0, f.size, all, at)
        } finally {
          await file.close()
        }
        at += f.size
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        weightSpecs: specs,
        weightData: all.buffer as ArrayBuffer,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata
      }
    }
  }
}

/** Saves `model` (topology and weights) to `dir`. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileSaveHandler(dir))
}

/** Loads a layers model folder; custom layers (LRN) must be registered before. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(dir))
}

/**
 * Copies the weights saved in `dir` into `model`, matched by position and checked by shape; the two must be
 * the same architecture. Used to resume and to restore checkpoints without building a second model.
 */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const artifacts = await fileLoadHandler(dir).load!()
  const named = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!)
  const specs = artifacts.weightSpecs!
  try {
    if (specs.length !== model.weights.length) {
      throw new Error(`checkpoint in ${dir} has ${specs.length} weights, the model ${model.weights.length}`)
    }
    const values = specs.map((s, i) => {
      const t = named[s.name]
      const want = model.weights[i].shape
      if (t.shape.join('x') !== want.join('x')) {
        throw new Error(`checkpoint weight ${s.name} has shape [${t.shape}], the model expects [${want}]`)
      }
      return t
    })
    model.setWeights(values)
  } finally {
    tf.dispose(Object.values(named))
  }
}
