// The embedding map's projection (issue 16): projectPca finds the plane that synthetic points really vary in,
// whatever the dimension they are embedded in, and it is the same for the same seed.
import { describe, expect, it } from 'vitest'
import { projectPca } from '../../src/main/ml/worker/jobs'

describe('projectPca', () => {
  it('recovers the two directions the data varies along, in order of variance', () => {
    const n = 400
    const dim = 64
    // Points a * u + b * v + small noise, with var(a) = 100 > var(b) = 9, u and v orthonormal axes 3 and 17.
    let s = 7
    const rand = (): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0
      return s / 2 ** 32 - 0.5
    }
    const a = Array.from({ length: n }, () => rand() * 10 * Math.sqrt(12))
    const b = Array.from({ length: n }, () => rand() * 3 * Math.sqrt(12))
    const x = new Float32Array(n * dim)
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < dim; k++) x[i * dim + k] = 5 + rand() * 0.01
      x[i * dim + 3] += a[i]
      x[i * dim + 17] += b[i]
    }
    const xy = projectPca(x, n, dim, 1)
    const corr = (p: number[], q: number[]): number => {
      const mp = p.reduce((t, v) => t + v, 0) / p.length
      const mq = q.reduce((t, v) => t + v, 0) / q.length
      let num = 0
      let dp = 0
      let dq = 0
      for (let i = 0; i < p.length; i++) {
        num += (p[i] - mp) * (q[i] - mq)
        dp += (p[i] - mp) ** 2
        dq += (q[i] - mq) ** 2
      }
      return num / Math.sqrt(dp * dq)
    }
    const px = Array.from({ length: n }, (_, i) => xy[2 * i])
    const py = Array.from({ length: n }, (_, i) => xy[2 * i + 1])
    expect(Math.abs(corr(px, a))).toBeGreaterThan(0.999)
    expect(Math.abs(corr(py, b))).toBeGreaterThan(0.999)
    expect(projectPca(x, n, dim, 1)).toEqual(xy)
  })
})
