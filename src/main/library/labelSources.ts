// Where labels come from at import: folder names, a `ClassId,SignName` names CSV, GTSRB annotation CSVs.
// Pure functions over text and paths, so they are tested without touching the database.
import { basename, dirname, resolve } from 'node:path'
import type { GtsrbAnnotation } from '../image/roi'

/** Numeric keys in numeric order (GTSRB folders 0..42), then the rest alphabetically. */
export function compareClassKeys(a: string, b: string): number {
  const na = /^\d+$/.test(a)
  const nb = /^\d+$/.test(b)
  if (na && nb) return Number(a) - Number(b) || a.localeCompare(b)
  if (na !== nb) return na ? -1 : 1
  return a.localeCompare(b)
}

/** GTSRB track: the `TTTTT` before `_` in `TTTTT_NNNNN.ppm`; null for other names. */
export function groupKeyOf(fileName: string): string | null {
  const m = /^(\d+)_\d+\.[^.]+$/.exec(fileName)
  return m ? m[1] : null
}

/** Split one CSV line on `sep`, honouring double quotes. */
export function splitCsvLine(line: string, sep: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') quoted = true
    else if (c === sep) {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out.map((v) => v.trim())
}

const lines = (text: string): string[] =>
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')

/** `ClassId,SignName` (header optional) -> map from key to name. */
export function parseNamesCsv(text: string): Map<string, string> {
  const out = new Map<string, string>()
  const rows = lines(text)
  if (rows.length === 0) throw new Error('names CSV is empty')
  const sep = rows[0].includes(';') && !rows[0].includes(',') ? ';' : ','
  rows.forEach((line, i) => {
    const [key, ...rest] = splitCsvLine(line, sep)
    if (i === 0 && !/^\d+$/.test(key) && /class|id|key/i.test(key)) return // header row
    if (!key || rest.length === 0)
      throw new Error(`names CSV line ${i + 1}: expected "ClassId,Name", got "${line}"`)
    out.set(key, rest.join(sep).trim())
  })
  return out
}

/**
 * A GTSRB annotation CSV (`Filename` or `Path`;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId), keyed by the
 * absolute path of each image: relative names are resolved against `baseDir`.
 */
export function parseGtsrbCsv(text: string, baseDir: string): Map<string, GtsrbAnnotation> {
  const rows = lines(text)
  if (rows.length === 0) throw new Error('annotation CSV is empty')
  const header = splitCsvLine(rows[0], ';')
  const col = (name: string): number => header.findIndex((h) => h.toLowerCase() === name.toLowerCase())
  const file = col('Filename') >= 0 ? col('Filename') : col('Path')
  const idx = {
    w: col('Width'),
    h: col('Height'),
    x1: col('Roi.X1'),
    y1: col('Roi.Y1'),
    x2: col('Roi.X2'),
    y2: col('Roi.Y2'),
    cls: col('ClassId')
  }
  const names = ['Filename/Path', 'Width', 'Height', 'Roi.X1', 'Roi.Y1', 'Roi.X2', 'Roi.Y2', 'ClassId']
  const missing = [file, ...Object.values(idx)].flatMap((v, i) => (v < 0 ? [names[i]] : []))
  if (missing.length) throw new Error(`not a GTSRB annotation CSV: missing column(s) ${missing.join(', ')}`)
  const out = new Map<string, GtsrbAnnotation>()
  for (let i = 1; i < rows.length; i++) {
    const v = splitCsvLine(rows[i], ';')
    const num = (j: number, what: string): number => {
      const n = Number(v[j])
      if (v[j] === undefined || v[j] === '' || !Number.isFinite(n)) {
        throw new Error(`annotation CSV line ${i + 1}: ${what} is not a number ("${v[j] ?? ''}")`)
      }
      return n
    }
    const ann: GtsrbAnnotation = {
      width: num(idx.w, 'Width'),
      height: num(idx.h, 'Height'),
      roi: {
        x1: num(idx.x1, 'Roi.X1'),
        y1: num(idx.y1, 'Roi.Y1'),
        x2: num(idx.x2, 'Roi.X2'),
        y2: num(idx.y2, 'Roi.Y2')
      },
      classId: v[idx.cls]
    }
    if (!ann.classId) throw new Error(`annotation CSV line ${i + 1}: empty ClassId`)
    if (ann.width <= 0 || ann.height <= 0)
      throw new Error(`annotation CSV line ${i + 1}: Width/Height must be positive`)
    out.set(resolve(baseDir, v[file]), ann)
  }
  return out
}

/** True when a CSV header looks like a GTSRB annotation file. */
export function isGtsrbCsvHeader(firstLine: string): boolean {
  const h = splitCsvLine(firstLine.replace(/^\uFEFF/, ''), ';').map((c) => c.toLowerCase())
  return h.includes('roi.x1') && h.includes('classid') && (h.includes('filename') || h.includes('path'))
}

/** The folder label of a file: its immediate parent folder, or null for files directly in the import root. */
export function folderLabelOf(filePath: string, root: string): string | null {
  const parent = dirname(filePath)
  return resolve(parent) === resolve(root) ? null : basename(parent)
}
