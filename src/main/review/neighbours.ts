// Near-duplicates and outliers from image embeddings (one row per image, L2-normalised, so cosine = dot).
//
// Nearest neighbours: every image's k most similar others, from an approximate HNSW index for large
// libraries. The library is `usearch` (Unum, Apache-2.0, released every few weeks): it ships prebuilt N-API
// binaries inside the npm package for Linux (x64, arm64) and macOS, so nothing compiles on a user's machine
// and the same binary loads in Node and Electron; hnswlib-node compiles with node-gyp on install, faiss-node
// downloads its binary from GitHub at install (which fails offline), and the pure-JS HNSW packages are
// unmaintained or far slower. Where the binary cannot load (Windows has no prebuilt one in the package), the
// search falls back to an exact blocked scan, which is fine up to ~20,000 images and says so in the report.
// Runs in the training worker: the index build is synchronous and takes seconds at 50,000 images.
import { createRequire } from 'node:module'

export interface Neighbours {
  /** Rows n x k: neighbour row (or -1), most similar first; the row itself is excluded. */
  index: Int32Array
  /** Cosine similarity of each neighbour. */
  similarity: Float32Array
  k: number
  search: 'usearch' | 'exact'
}

type UsearchModule = typeof import('usearch')
let usearch: UsearchModule | null | undefined

/** The native index, or null (with the reason kept) when its binary does not load here. */
/** Libraries up to this size build and search their index on one thread, so the same review gives the same answer. */
export const DETERMINISTIC_INDEX_MAX = 20_000

/**
 * Threads for building and searching an HNSW index of `n` rows (usearch refuses a search on more threads than the
 * build reserved): one up to DETERMINISTIC_INDEX_MAX (rows inserted on several
 * threads interleave differently from run to run, and the graph, its neighbours and the map built on them
 * with it; seen as a different map for the same seed under load), else all (0), where the build's speed matters
 * more (50,000 rows: about 15 s on 2 threads).
 */
function addThreads(n: number): number {
  return n <= DETERMINISTIC_INDEX_MAX ? 1 : 0
}

function loadUsearch(): UsearchModule | null {
  if (usearch !== undefined) return usearch
  try {
    usearch = createRequire(__filename)('usearch') as UsearchModule
  } catch {
    usearch = null
  }
  return usearch
}

/** Standardises each row (zero mean, unit variance), then L2-normalises it; a flat row becomes all zeros. */
export function standardiseRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let r = 0; r < n; r++) {
    const o = r * d
    let mean = 0
    for (let i = 0; i < d; i++) mean += x[o + i]
    mean /= d
    let ss = 0
    for (let i = 0; i < d; i++) {
      const v = x[o + i] - mean
      x[o + i] = v
      ss += v * v
    }
    const norm = Math.sqrt(ss)
    const s = norm > 1e-6 * Math.sqrt(d) ? 1 / norm : 0
    for (let i = 0; i < d; i++) x[o + i] *= s
  }
  return x
}

/** L2-normalises each row in place (a zero row stays zero). */
export function normaliseRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let r = 0; r < n; r++) {
    const o = r * d
    let ss = 0
    for (let i = 0; i < d; i++) ss += x[o + i] * x[o + i]
    const s = ss > 0 ? 1 / Math.sqrt(ss) : 0
    for (let i = 0; i < d; i++) x[o + i] *= s
  }
  return x
}

function exactNeighbours(x: Float32Array, n: number, d: number, k: number): Neighbours {
  const index = new Int32Array(n * k).fill(-1)
  const similarity = new Float32Array(n * k).fill(-Infinity)
  for (let a = 0; a < n; a++) {
    const oa = a * d
    const row = a * k
    for (let b = 0; b < n; b++) {
      if (b === a) continue
      const ob = b * d
      let dot = 0
      for (let i = 0; i < d; i++) dot += x[oa + i] * x[ob + i]
      if (dot <= similarity[row + k - 1]) continue
      let p = k - 1
      while (p > 0 && similarity[row + p - 1] < dot) {
        similarity[row + p] = similarity[row + p - 1]
        index[row + p] = index[row + p - 1]
        p--
      }
      similarity[row + p] = dot
      index[row + p] = b
    }
  }
  for (let i = 0; i < similarity.length; i++) if (index[i] < 0) similarity[i] = 0
  return { index, similarity, k, search: 'exact' }
}

/**
 * Each row's `k` nearest other rows of `x` ([n, d], L2-normalised) by cosine similarity: HNSW (usearch) when
 * it loads and `exact` is not asked for, else an exact scan.
 */
export function nearestNeighbours(
  x: Float32Array,
  n: number,
  d: number,
  k: number,
  opts: { exact?: boolean } = {}
): Neighbours {
  const kk = Math.max(1, Math.min(k, n - 1))
  if (n < 2) return { index: new Int32Array(0), similarity: new Float32Array(0), k: kk, search: 'exact' }
  const lib = opts.exact ? null : loadUsearch()
  if (!lib) return exactNeighbours(x, n, d, kk)
  const idx = new lib.Index({
    dimensions: d,
    metric: lib.MetricKind.Cos,
    quantization: lib.ScalarKind.F32,
    connectivity: 16,
    expansion_add: 128,
    expansion_search: 64,
    multi: false
  })
  const keys = new BigUint64Array(n)
  for (let i = 0; i < n; i++) keys[i] = BigInt(i)
  idx.add(keys, x, addThreads(n))
  // One more than asked: the row itself comes back among its own neighbours (usually first).
  const found = idx.search(x, kk + 1, addThreads(n)) as unknown as {
    keys: BigUint64Array
    distances: Float32Array
    counts: BigUint64Array
  }
  const index = new Int32Array(n * kk).fill(-1)
  const similarity = new Float32Array(n * kk)
  for (let r = 0; r < n; r++) {
    const count = Number(found.counts[r])
    let p = 0
    for (let c = 0; c < count && p < kk; c++) {
      const key = Number(found.keys[r * (kk + 1) + c])
      if (key === r) continue
      index[r * kk + p] = key
      similarity[r * kk + p] = 1 - found.distances[r * (kk + 1) + c]
      p++
    }
  }
  return { index, similarity, k: kk, search: 'usearch' }
}

/** Pairs (a < b) whose similarity is at least `threshold`, most similar first, each once. */
export function duplicatePairs(
  nn: Neighbours,
  threshold: number
): { a: number; b: number; similarity: number }[] {
  const seen = new Set<number>()
  const pairs: { a: number; b: number; similarity: number }[] = []
  const n = nn.index.length / nn.k
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < nn.k; c++) {
      const o = nn.index[r * nn.k + c]
      const s = nn.similarity[r * nn.k + c]
      if (o < 0 || s < threshold) continue
      const a = Math.min(r, o)
      const b = Math.max(r, o)
      const key = a * n + b
      if (seen.has(key)) continue
      seen.add(key)
      pairs.push({ a, b, similarity: Math.min(1, s) })
    }
  }
  return pairs.sort((p, q) => q.similarity - p.similarity || p.a - q.a || p.b - q.b)
}

function median(values: number[]): number {
  if (!values.length) return NaN
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * How far each row is from every class and from every other image. Class part: for each class c,
 * d_c = 1 - cos(x, centre_c) over the median d_c of the class's own members, the smallest ratio over the
 * classes. Neighbour part (with `nn`): the mean distance to the row's neighbours over the median row's.
 * The score is the geometric mean of the two: about 1 for a typical image, above 1.5 for one farther from
 * every class and from its nearest images than most images are (noise, a blank or corrupt crop, another
 * subject). Rows with label -1 (unlabelled) are scored too but shape no centre.
 */
export function outlierScores(
  x: Float32Array,
  n: number,
  d: number,
  labels: Int32Array,
  numClasses: number,
  nn?: Neighbours
): Float32Array {
  const centres = new Float64Array(numClasses * d)
  for (let r = 0; r < n; r++) {
    const y = labels[r]
    if (y < 0) continue
    for (let i = 0; i < d; i++) centres[y * d + i] += x[r * d + i]
  }
  for (let c = 0; c < numClasses; c++) {
    let ss = 0
    for (let i = 0; i < d; i++) ss += centres[c * d + i] ** 2
    const s = ss > 0 ? 1 / Math.sqrt(ss) : 0
    for (let i = 0; i < d; i++) centres[c * d + i] *= s
  }
  const dist = new Float32Array(n * numClasses)
  for (let r = 0; r < n; r++)
    for (let c = 0; c < numClasses; c++) {
      let dot = 0
      for (let i = 0; i < d; i++) dot += x[r * d + i] * centres[c * d + i]
      dist[r * numClasses + c] = 1 - dot
    }
  const members: number[][] = Array.from({ length: numClasses }, () => [])
  for (let r = 0; r < n; r++) if (labels[r] >= 0) members[labels[r]].push(dist[r * numClasses + labels[r]])
  const typical = members.map((m) => Math.max(median(m), 1e-6))
  const scores = new Float32Array(n)
  for (let r = 0; r < n; r++) {
    let best = Infinity
    for (let c = 0; c < numClasses; c++) {
      if (!members[c].length) continue
      best = Math.min(best, dist[r * numClasses + c] / typical[c])
    }
    scores[r] = Number.isFinite(best) ? best : 0
  }
  if (!nn || nn.k === 0) return scores
  const far = new Float32Array(n)
  for (let r = 0; r < n; r++) {
    let sum = 0
    let count = 0
    for (let c = 0; c < nn.k; c++) {
      if (nn.index[r * nn.k + c] < 0) continue
      sum += 1 - nn.similarity[r * nn.k + c]
      count++
    }
    far[r] = count ? sum / count : 1
  }
  const typicalFar = Math.max(median([...far]), 1e-6)
  for (let r = 0; r < n; r++) scores[r] = Math.sqrt(Math.max(0, scores[r]) * (far[r] / typicalFar))
  return scores
}

/**
 * Out-of-sample class probabilities from each row's labelled neighbours (the row's own label never counts):
 * votes weighted by similarity^32 (0.97 -> 0.38, 0.9 -> 0.03, 0.8 -> 0.001): only near-identical images really vote; smoothed
 * toward uniform by `smoothing` votes. Rows [n, numClasses]; neighbours with label -1 do not vote.
 */
export function neighbourVotes(
  nn: Neighbours,
  labels: Int32Array,
  numClasses: number,
  opts: { power?: number; smoothing?: number } = {}
): Float32Array {
  const power = opts.power ?? 32
  const smoothing = opts.smoothing ?? 0.1
  const n = labels.length
  const out = new Float32Array(n * numClasses)
  for (let r = 0; r < n; r++) {
    let total = smoothing
    for (let c = 0; c < nn.k; c++) {
      const o = nn.index[r * nn.k + c]
      if (o < 0 || labels[o] < 0) continue
      const w = Math.max(0, nn.similarity[r * nn.k + c]) ** power
      out[r * numClasses + labels[o]] += w
      total += w
    }
    for (let j = 0; j < numClasses; j++)
      out[r * numClasses + j] = (out[r * numClasses + j] + smoothing / numClasses) / total
  }
  return out
}

/**
 * For each of `nq` query rows, the most similar of `nb` base rows (both L2-normalised, dimension d), as an
 * index into the base: HNSW (usearch) when it loads, else an exact scan. The map places the images UMAP was
 * not fitted on next to their nearest fitted one.
 */
export function nearestAmong(
  base: Float32Array,
  nb: number,
  queries: Float32Array,
  nq: number,
  d: number
): Int32Array {
  const out = new Int32Array(nq).fill(-1)
  if (nb === 0 || nq === 0) return out
  const lib = loadUsearch()
  if (lib) {
    const idx = new lib.Index({
      dimensions: d,
      metric: lib.MetricKind.Cos,
      quantization: lib.ScalarKind.F32,
      connectivity: 16,
      expansion_add: 128,
      expansion_search: 64,
      multi: false
    })
    const keys = new BigUint64Array(nb)
    for (let i = 0; i < nb; i++) keys[i] = BigInt(i)
    idx.add(keys, base, addThreads(nb))
    const found = idx.search(queries, 1, addThreads(nb)) as unknown as {
      keys: BigUint64Array
      counts: BigUint64Array
    }
    for (let q = 0; q < nq; q++) if (Number(found.counts[q]) > 0) out[q] = Number(found.keys[q])
    return out
  }
  for (let q = 0; q < nq; q++) {
    let best = -Infinity
    for (let b = 0; b < nb; b++) {
      let dot = 0
      for (let i = 0; i < d; i++) dot += queries[q * d + i] * base[b * d + i]
      if (dot > best) {
        best = dot
        out[q] = b
      }
    }
  }
  return out
}
