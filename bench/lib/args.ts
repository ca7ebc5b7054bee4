// What every benchmark script shares: its `--name value` options, and the best wall time of a few runs.

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

/** Best wall time (ms) of `reps` runs after one warm-up. */
export async function best(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn()
  let b = Infinity
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    await fn()
    b = Math.min(b, performance.now() - t0)
  }
  return b
}
