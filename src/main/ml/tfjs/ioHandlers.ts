// TF.js save/load handlers for a folder on disk (model.json + one weights.bin), for plain @tensorflow/tfjs
// under Node: its `file://` scheme only exists when tfjs-node is loaded, which is often not installed.
// The layout is the one tfjs-node writes, so either side can read the other's folders.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'

const MODEL_JSON = 'model.json'
const WEIGHTS_BIN = 'weights.bin'

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
      let json: {
        modelTopology: object
        format?: string
        generatedBy?: string
        convertedBy?: string | null
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
        trainingConfig?: tf.io.TrainingConfig
        userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata']
      }
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8'))
      } catch (err) {
        throw new Error(`${jsonPath} is not valid JSON: ${(err as Error).message}`)
      }
      const specs: tf.io.WeightsManifestEntry[] = []
      const parts: Uint8Array[] = []
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights)
        for (const p of group.paths) {
          const file = join(dir, p)
          if (!existsSync(file)) throw new Error(`weights file ${file} named by ${jsonPath} is missing`)
          parts.push(readFileSync(file))
        }
      }
      const all = weightBytes(
        parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer)
      )
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
