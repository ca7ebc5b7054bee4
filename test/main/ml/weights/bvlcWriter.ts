// Writes `bvlc-alexnet.npy`-format files from TypeScript, so tests need neither Python nor a 244 MB fixture:
// an NPY 1.0 object array whose body is a Python 2 style protocol 2 pickle of {name: [W, b]} (GLOBAL
// opcodes, BINSTRING array data), as np.save wrote the real file. The float payloads are streamed in
// chunks of random bytes, so a full-size file costs a few hundred ms and little memory.
import { randomFillSync } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { ALEXNET_BVLC_SHAPES, type BvlcShapes } from '../../../../src/main/ml/weights/bvlc'

type Part = Buffer | { payload: number }

const op = (...bytes: number[]): Buffer => Buffer.from(bytes)
const text = (s: string): Buffer => Buffer.from(s, 'latin1')
const shortString = (s: string): Buffer => Buffer.concat([op(0x55, s.length), text(s)])
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(5)
  b[0] = 0x4a
  b.writeInt32LE(n, 1)
  return b
}
const global = (module: string, name: string): Buffer => text(`c${module}\n${name}\n`)
const MARK = op(0x28)
const TUPLE = op(0x74)

/** numpy.dtype(code) rebuilt with byte order `order` (8-item state, as numpy writes it). */
function dtype(code: string, order: string): Buffer[] {
  return [
    global('numpy', 'dtype'),
    shortString(code),
    op(0x4b, 0, 0x4b, 1, 0x87, 0x52), // (0, 1) REDUCE
    MARK,
    op(0x4b, 3),
    shortString(order),
    op(0x4e, 0x4e, 0x4e),
    int32(-1),
    int32(-1),
    op(0x4b, 0),
    TUPLE,
    op(0x62) // BUILD
  ]
}

/** _reconstruct(ndarray, (0,), 'b') followed by MARK 1: the start of every array's rebuild. */
function arrayStart(): Buffer[] {
  return [
    global('numpy.core.multiarray', '_reconstruct'),
    global('numpy', 'ndarray'),
    op(0x4b, 0, 0x85),
    shortString('b'),
    op(0x87, 0x52),
    MARK,
    op(0x4b, 1)
  ]
}

function floatArray(shape: number[], fortran: boolean): Part[] {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4
  const len = Buffer.alloc(5)
  len[0] = 0x54 // BINSTRING
  len.writeInt32LE(bytes, 1)
  return [
    ...arrayStart(),
    MARK,
    ...shape.map(int32),
    TUPLE,
    ...dtype('f4', '<'),
    op(fortran ? 0x88 : 0x89), // fortran_order
    len,
    { payload: bytes },
    TUPLE,
    op(0x62)
  ]
}

function pickleParts(layers: BvlcShapes, fortranFc: boolean): Part[] {
  const dict: Part[] = [op(0x7d), MARK]
  for (const [name, l] of Object.entries(layers)) {
    dict.push(
      shortString(name),
      op(0x5d),
      MARK,
      ...floatArray(l.W, fortranFc && l.W.length === 2),
      ...floatArray(l.b, false),
      op(0x65)
    )
  }
  dict.push(op(0x75)) // SETITEMS
  return [
    op(0x80, 2),
    ...arrayStart(),
    op(0x29), // shape ()
    ...dtype('O8', '|'),
    op(0x89),
    op(0x5d),
    ...dict,
    op(0x61), // APPEND the dict to the object list
    TUPLE,
    op(0x62),
    op(0x2e) // STOP
  ]
}

function npyHeader(): Buffer {
  let dict = "{'descr': '|O', 'fortran_order': False, 'shape': (), }"
  while ((10 + dict.length + 1) % 64) dict += ' '
  const head = Buffer.alloc(10)
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head)
  head.writeUInt16LE(dict.length + 1, 8)
  return Buffer.concat([head, text(dict + '\n')])
}

/**
 * Writes a BVLC-format file with `layers` (default: the full AlexNet, 244 MB) filled with random floats.
 * `fortranFc` stores the 2-D (fc) kernels column-major (Caffe's fc weights transposed), the layout that costs a
 * reader most, since it must reorder them (npy.ts's tiled transpose).
 */
export function writeBvlcFile(
  path: string,
  layers: BvlcShapes = ALEXNET_BVLC_SHAPES,
  opts: { fortranFc?: boolean } = {}
): number {
  const fd = openSync(path, 'w')
  const chunk = randomFillSync(Buffer.alloc(16 << 20))
  let size = 0
  try {
    for (const part of [npyHeader(), ...pickleParts(layers, opts.fortranFc ?? true)]) {
      if (Buffer.isBuffer(part)) {
        size += writeSync(fd, part)
        continue
      }
      for (let left = part.payload; left > 0;) {
        const n = writeSync(fd, chunk, 0, Math.min(left, chunk.length))
        left -= n
        size += n
      }
    }
  } finally {
    closeSync(fd)
  }
  return size
}
