// Regions of interest of an image: where a sign sits in the original picture (a GTSRB annotation row) and
// the same box in the stored file's coordinates. The importer, the engine's folder data and the CLI share it.
import type { Roi } from '../../shared/types'

/** One row of a GTSRB annotation CSV: the original image's size, the sign's box in it, and its class key. */
export interface GtsrbAnnotation {
  width: number
  height: number
  roi: Roi
  classId: string
}

/** Scale an ROI from original-image coordinates to the stored file (GTSRB was resized to 32x32). */
export function scaleRoi(ann: GtsrbAnnotation, storedWidth: number, storedHeight: number): Roi {
  const sx = storedWidth / ann.width
  const sy = storedHeight / ann.height
  const r = (n: number): number => Math.round(n * 1000) / 1000
  return { x1: r(ann.roi.x1 * sx), y1: r(ann.roi.y1 * sy), x2: r(ann.roi.x2 * sx), y2: r(ann.roi.y2 * sy) }
}
