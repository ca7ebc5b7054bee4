// The PyTorch side of the torchvision parity tests: finds a python3 with torch and torchvision, runs
// scripts/torchvision-parity.py into a test's temporary folder, and reads its raw float32 interchange
// (state dict, input batch, logits, features). See the script's docstring for the file formats.
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { TorchStateDict } from '../../../../../src/main/ml/models/torchvision'
import { SHARED_DATA } from '../../../../helpers'

export const PARITY_SCRIPT = resolve(__dirname, '../../../../../scripts/torchvision-parity.py')

/**
 * The first of $TS_PYTHON, python3 on the PATH and Debian's /usr/bin/python3 that imports torch and
 * torchvision, or null. Under CI (`CI` set) none is an error, so a green run cannot hide skipped parity tests.
 */
export function torchPython(
  env: NodeJS.ProcessEnv = process.env,
  candidates: readonly string[] = [env.TS_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (c): c is string => !!c
  )
): string | null {
  for (const python of new Set(candidates)) {
    try {
      execFileSync(python, ['-c', 'import torch, torchvision, PIL, numpy'], {
        stdio: 'ignore',
        timeout: 60_000
      })
      return python
    } catch {
      // Not there, or without torch: try the next one.
    }
  }
  if (env.CI && env.CI !== 'false') {
    throw new Error(
      `no python3 with torch and torchvision (tried ${[...new Set(candidates)].join(', ')}); CI needs one for ` +
        'the torchvision parity tests: install python3-torch and python3-torchvision or set TS_PYTHON'
    )
  }
  return null
}

/** Runs the script for `archs` into `outDir`; resolves with its stdout (one line per architecture). */
export async function runParityScript(
  python: string,
  outDir: string,
  archs: readonly string[],
  images = 4
): Promise<string> {
  const { stdout } = await promisify(execFile)(
    python,
    [PARITY_SCRIPT, outDir, '--archs', ...archs, '--images', String(images), '--data-dir', SHARED_DATA],
    { timeout: 300_000, maxBuffer: 1 << 20 }
  )
  return stdout
}

/** A float32 little-endian file as an aligned array (Buffers may start at an odd offset). */
export function readF32(path: string): Float32Array {
  const buf = readFileSync(path)
  const out = new Float32Array(buf.length / 4)
  new Uint8Array(out.buffer).set(buf)
  return out
}

/** weights.json + weights.bin of one architecture as a state dict (views into one array). */
export function readStateDict(dir: string): TorchStateDict {
  const entries = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')) as {
    name: string
    shape: number[]
    offset: number
  }[]
  const all = readF32(join(dir, 'weights.bin'))
  const sd: TorchStateDict = new Map()
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1)
    sd.set(e.name, { shape: e.shape, data: all.subarray(e.offset / 4, e.offset / 4 + n) })
  }
  return sd
}

export interface Reference {
  logits: Float32Array
  logitsShape: number[]
  features: Float32Array
  featuresShape: number[]
  params: number
  seconds: number
}

export function readReference(dir: string): Reference {
  const o = JSON.parse(readFileSync(join(dir, 'outputs.json'), 'utf8')) as {
    logits: number[]
    features: number[]
    params: number
    seconds: number
  }
  return {
    logits: readF32(join(dir, 'logits.bin')),
    logitsShape: o.logits,
    features: readF32(join(dir, 'features.bin')),
    featuresShape: o.features,
    params: o.params,
    seconds: o.seconds
  }
}

export interface RowComparison {
  /** Per row: cosine similarity of a and b. */
  cosine: number[]
  /** Per row: max |a - b| / max |b|. */
  relMaxDiff: number[]
  /** Per row: argmax of a equals argmax of b. */
  sameTop1: boolean[]
}

/** Compares two [rows, cols] row-major arrays row by row (b is the reference). */
export function compareRows(a: Float32Array, b: Float32Array, cols: number): RowComparison {
  const rows = b.length / cols
  const r: RowComparison = { cosine: [], relMaxDiff: [], sameTop1: [] }
  for (let i = 0; i < rows; i++) {
    let dot = 0,
      na = 0,
      nb = 0,
      diff = 0,
      scale = 0,
      ia = 0,
      ib = 0
    for (let j = i * cols; j < (i + 1) * cols; j++) {
      dot += a[j] * b[j]
      na += a[j] * a[j]
      nb += b[j] * b[j]
      diff = Math.max(diff, Math.abs(a[j] - b[j]))
      scale = Math.max(scale, Math.abs(b[j]))
      if (a[j] > a[i * cols + ia]) ia = j - i * cols
      if (b[j] > b[i * cols + ib]) ib = j - i * cols
    }
    r.cosine.push(dot / Math.sqrt(na * nb))
    r.relMaxDiff.push(diff / scale)
    r.sameTop1.push(ia === ib)
  }
  return r
}

/** a minus its mean over the rows (the part of the features that depends on the image). */
export function centreRows(a: Float32Array, cols: number): Float32Array {
  const rows = a.length / cols
  const out = new Float32Array(a.length)
  for (let j = 0; j < cols; j++) {
    let m = 0
    for (let i = 0; i < rows; i++) m += a[i * cols + j]
    m /= rows
    for (let i = 0; i < rows; i++) out[i * cols + j] = a[i * cols + j] - m
  }
  return out
}
