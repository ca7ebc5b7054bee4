// The embedding map's projection (issue 16), PCA as the fallback: UMAP from `umap-js` (PAIR-code, Google's port of McInnes' UMAP,
// pure JS, no native parts), seeded with mulberry32 so a seed gives the same map. Its own neighbour search
// (NN-descent over JS arrays) is the slow part and the review has already found every image's nearest
// neighbours for the duplicates (usearch HNSW), so those are handed in as the precomputed kNN graph; umap-js
// then builds the fuzzy graph and runs the layout epoch by epoch, and between epochs the event loop gets a
// turn, so a cancel arrives and is honoured. Above UMAP_MAX_FIT images it is fitted on a seeded sample and
// the rest are placed by their nearest fitted image. Runs in the training worker, never on the backend's
// thread.
import { UMAP } from 'umap-js'
import { mulberry32 } from '../../shared/random'
import { nearestAmong, nearestNeighbours, type Neighbours } from './neighbours'

export interface UmapOptions {
  seed: number
  /** Layout epochs (default: umap-js's own choice, 500 for small sets down to 200 above 7,500 points). */
  epochs?: number
  /** umap-js's `minDist` (default 0.1): how tightly points may pack. */
  minDist?: number
  signal?: AbortSignal
  /** After each epoch, at most every ~100 ms (and after the last). */
  onEpoch?: (done: number, total: number) => void
}

/** Raised when the signal aborts between epochs. */
export class UmapCancelled extends Error {
  constructor() {
    super('map cancelled')
    this.name = 'UmapCancelled'
  }
}

/** Fewest points UMAP is run on; below it the neighbour graph is too small to mean anything. */
export const UMAP_MIN_POINTS = 16

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * The rows of an L2-normalised embedding (n rows) in 2-D by UMAP over their neighbour graph `nn` (rows' k
 * most similar others, cosine). Returns n x 2 coordinates, row-major (unitless).
 */
export async function projectUmap(nn: Neighbours, n: number, opts: UmapOptions): Promise<Float32Array> {
  if (n < UMAP_MIN_POINTS) throw new Error(`UMAP needs at least ${UMAP_MIN_POINTS} points, got ${n}`)
  const k = nn.k
  // umap-js's convention: each row's own index first, at distance 0. Distances are Euclidean between unit
  // vectors, sqrt(2 - 2 cos); a missing neighbour (-1) is the row itself again, which adds no edge.
  const indices: number[][] = new Array<number[]>(n)
  const distances: number[][] = new Array<number[]>(n)
  for (let r = 0; r < n; r++) {
    const ix = new Array<number>(k + 1)
    const ds = new Array<number>(k + 1)
    ix[0] = r
    ds[0] = 0
    for (let c = 0; c < k; c++) {
      const o = nn.index[r * k + c]
      ix[c + 1] = o < 0 ? r : o
      ds[c + 1] = o < 0 ? 0 : Math.sqrt(Math.max(0, 2 - 2 * nn.similarity[r * k + c]))
    }
    indices[r] = ix
    distances[r] = ds
  }
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: k + 1,
    minDist: opts.minDist ?? 0.1,
    nEpochs: opts.epochs,
    random: mulberry32(opts.seed)
  })
  umap.setPrecomputedKNN(indices, distances)
  // With the kNN given, umap-js reads only the data's length (X is for its own search and `transform`).
  const total = umap.initializeFit(indices)
  let last = Date.now()
  for (let done = 0; done < total;) {
    done = umap.step()
    const now = Date.now()
    if (now - last >= 100 || done >= total) {
      opts.onEpoch?.(done, total)
      last = now
      await yieldToLoop()
      if (opts.signal?.aborted) throw new UmapCancelled()
    }
  }
  const embedding = umap.getEmbedding()
  const out = new Float32Array(n * 2)
  for (let r = 0; r < n; r++) {
    out[r * 2] = embedding[r][0]
    out[r * 2 + 1] = embedding[r][1]
  }
  return out
}

/** How the map was drawn, and why PCA when it is the fallback. */
export type MapMethod = 'umap' | 'pca'
export type MapFallback = 'few-images' | 'failed'

/**
 * Most images UMAP is fitted on; a larger library is fitted on a seeded sample of this many and the rest are
 * placed beside their nearest fitted image. Measured on this 2-core machine (768-value pixel embeddings,
 * the neighbour graph given): 1,000 points 3.1 s, 6,450 points 10.8 s, 50,000 points 98 s (and 2.1 GB), so a
 * full fit at 50,000 is out; 10,000 fitted and 40,000 placed take 23 s (the sample's neighbours 5.6 s,
 * the fit 13.4 s, placing 4.0 s; the review's own neighbour search over all 50,000, 33 s, comes before).
 */
export const UMAP_MAX_FIT = 10_000

export interface MapProjection {
  /** n x 2, row-major. */
  xy: Float32Array
  method: MapMethod
  /** Why PCA (null with UMAP). */
  fallback: MapFallback | null
  /** Rows UMAP was fitted on (the rest were placed by their nearest fitted row); 0 with PCA. */
  fitted: number
}

/**
 * The embedding map of `x` (n rows, L2-normalised, dimension d; `nn` its neighbour graph): UMAP, fitted on at
 * most `maxFit` rows, or PCA when there are too few rows for UMAP or it fails. A cancel is rethrown.
 */
export async function projectMap(
  x: Float32Array,
  n: number,
  d: number,
  nn: Neighbours,
  opts: UmapOptions & { maxFit?: number }
): Promise<MapProjection> {
  const pca = (fallback: MapFallback): MapProjection => ({
    xy: projectPca(x, n, d, opts.seed),
    method: 'pca',
    fallback,
    fitted: 0
  })
  if (n < UMAP_MIN_POINTS) return pca('few-images')
  const maxFit = opts.maxFit ?? UMAP_MAX_FIT
  try {
    if (n <= maxFit) return { xy: await projectUmap(nn, n, opts), method: 'umap', fallback: null, fitted: n }
    // A seeded sample (partial Fisher-Yates), in row order so the same seed picks the same rows.
    const random = mulberry32(opts.seed ^ 0x5eed)
    const order = Int32Array.from({ length: n }, (_, i) => i)
    for (let i = 0; i < maxFit; i++) {
      const j = i + Math.floor(random() * (n - i))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    const sample = order.slice(0, maxFit).sort()
    const sx = new Float32Array(maxFit * d)
    sample.forEach((r, k) => sx.set(x.subarray(r * d, (r + 1) * d), k * d))
    const snn = nearestNeighbours(sx, maxFit, d, nn.k)
    const fit = await projectUmap(snn, maxFit, opts)
    // Each other image's nearest fitted one: from its own neighbours when one of them was fitted (most are,
    // at a fifth sampled and ten neighbours), else by a search of the fitted images.
    const rest = order.slice(maxFit).sort()
    const fittedAt = new Int32Array(n).fill(-1)
    sample.forEach((r, k) => (fittedAt[r] = k))
    const near = new Int32Array(rest.length).fill(-1)
    const unplaced: number[] = []
    rest.forEach((r, k) => {
      for (let c = 0; c < nn.k && near[k] < 0; c++) {
        const o = nn.index[r * nn.k + c]
        if (o >= 0 && fittedAt[o] >= 0) near[k] = fittedAt[o]
      }
      if (near[k] < 0) unplaced.push(k)
    })
    const qx = new Float32Array(unplaced.length * d)
    unplaced.forEach((k, q) => qx.set(x.subarray(rest[k] * d, (rest[k] + 1) * d), q * d))
    const found = nearestAmong(sx, maxFit, qx, unplaced.length, d)
    unplaced.forEach((k, q) => (near[k] = found[q]))
    // A placed image sits on its nearest fitted one, nudged by a hair so a stack still shows as a cluster.
    let minX = Infinity
    let maxX = -Infinity
    for (let k = 0; k < maxFit; k++) {
      minX = Math.min(minX, fit[k * 2], fit[k * 2 + 1])
      maxX = Math.max(maxX, fit[k * 2], fit[k * 2 + 1])
    }
    const jitter = (maxX - minX) * 0.003
    const xy = new Float32Array(n * 2)
    sample.forEach((r, k) => {
      xy[r * 2] = fit[k * 2]
      xy[r * 2 + 1] = fit[k * 2 + 1]
    })
    rest.forEach((r, k) => {
      const f = Math.max(0, near[k])
      xy[r * 2] = fit[f * 2] + (random() - 0.5) * jitter
      xy[r * 2 + 1] = fit[f * 2 + 1] + (random() - 0.5) * jitter
    })
    return { xy, method: 'umap', fallback: null, fitted: maxFit }
  } catch (err) {
    if (err instanceof UmapCancelled) throw err
    return pca('failed')
  }
}

/**
 * The share of points whose nearest other point on the map has the same label (labels < 0 ignored): the
 * map's class separation, compared in tests with the same for shuffled labels. Exact, O(n²): for tests and
 * the bench, not the review.
 */
export function sameClassNeighbourShare(xy: Float32Array, labels: ArrayLike<number>): number {
  const n = xy.length / 2
  let hits = 0
  let counted = 0
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0) continue
    let best = -1
    let bestD = Infinity
    for (let j = 0; j < n; j++) {
      if (j === i || labels[j] < 0) continue
      const dx = xy[i * 2] - xy[j * 2]
      const dy = xy[i * 2 + 1] - xy[j * 2 + 1]
      const d = dx * dx + dy * dy
      if (d < bestD) {
        bestD = d
        best = j
      }
    }
    if (best < 0) continue
    counted++
    if (labels[best] === labels[i]) hits++
  }
  return counted ? hits / counted : 0
}

/**
 * The rows of `x` (n x dim) on their first two principal components, by power iteration with deflation: a
 * few matrix passes, no dim x dim covariance, so 50,000 rows of 768 values take seconds. The embedding map's
 * fallback projection (the issue names PCA for it); deterministic for a seed.
 */
export function projectPca(x: Float32Array, n: number, dim: number, seed = 1, iterations = 30): Float32Array {
  const out = new Float32Array(n * 2)
  if (n === 0 || dim === 0) return out
  const mean = new Float64Array(dim)
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) mean[k] += x[i * dim + k]
  for (let k = 0; k < dim; k++) mean[k] /= n
  const components: Float64Array[] = []
  let state = seed >>> 0 || 1
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32 - 0.5
  }
  const scores = new Float64Array(n)
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: dim }, random)
    for (let it = 0; it < iterations; it++) {
      // w = X^T X v over the centred rows, minus the components found already (deflation).
      const w = new Float64Array(dim)
      for (let i = 0; i < n; i++) {
        let s = 0
        for (let k = 0; k < dim; k++) s += (x[i * dim + k] - mean[k]) * v[k]
        for (let k = 0; k < dim; k++) w[k] += s * (x[i * dim + k] - mean[k])
      }
      for (const u of components) {
        let d = 0
        for (let k = 0; k < dim; k++) d += w[k] * u[k]
        for (let k = 0; k < dim; k++) w[k] -= d * u[k]
      }
      let norm = 0
      for (let k = 0; k < dim; k++) norm += w[k] * w[k]
      norm = Math.sqrt(norm)
      if (norm === 0) break
      for (let k = 0; k < dim; k++) w[k] /= norm
      v = w
    }
    components.push(v)
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let k = 0; k < dim; k++) s += (x[i * dim + k] - mean[k]) * v[k]
      scores[i] = s
      out[i * 2 + c] = s
    }
  }
  return out
}
