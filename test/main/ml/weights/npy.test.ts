// NPY headers of every version and plain numeric arrays.
import { describe, expect, it } from 'vitest'
import { NpyError, parseNpy, parseNpyHeader, toFloat32 } from '../../../../src/main/ml/weights/npy'
import { NdArray } from '../../../../src/main/ml/weights/pickle'

function npy(major: number, header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = Buffer.from(header + '\n', major === 3 ? 'utf8' : 'latin1')
  const lenBytes = major === 1 ? 2 : 4
  const out = new Uint8Array(8 + lenBytes + text.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0])
  const view = new DataView(out.buffer)
  if (major === 1) view.setUint16(8, text.length, true)
  else view.setUint32(8, text.length, true)
  out.set(text, 8 + lenBytes)
  out.set(data, 8 + lenBytes + text.length)
  return out
}

describe('NPY', () => {
  it('parses version 1, 2 and 3 headers', () => {
    const h1 = parseNpyHeader(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"))
    expect(h1).toEqual({
      version: { major: 1, minor: 0 },
      descr: '<f4',
      fortranOrder: false,
      shape: [3, 4],
      dataOffset: 10 + 60
    })
    const h2 = parseNpyHeader(npy(2, "{'descr': '>f8', 'fortran_order': True, 'shape': (5,)}"))
    expect(h2.shape).toEqual([5])
    expect(h2.fortranOrder).toBe(true)
    expect(h2.dataOffset).toBe(12 + 55)
    const h3 = parseNpyHeader(npy(3, '{"descr": "|O", "fortran_order": False, "shape": ()}'))
    expect(h3.version.major).toBe(3)
    expect(h3.shape).toEqual([])
    // Python 2 numpy could write longs into the shape.
    expect(
      parseNpyHeader(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }")).shape
    ).toEqual([3, 4])
  })

  it('rejects unknown versions, structured dtypes and broken headers', () => {
    expect(() => parseNpyHeader(npy(4, '{}'))).toThrow(/unsupported NPY format version 4\.0/)
    expect(() =>
      parseNpyHeader(npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}"))
    ).toThrow(/structured arrays are not supported/)
    expect(() => parseNpyHeader(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,"))).toThrow(
      NpyError
    )
    expect(() => parseNpyHeader(npy(1, "{'descr': '<f4', 'shape': (1,)}"))).toThrow(
      /'fortran_order' is undefined/
    )
  })

  it('reads a plain numeric array and converts dtypes and orders', () => {
    const f8 = new Float64Array([1.1, 2, 3, 4, 5, 6])
    const { value } = parseNpy(
      npy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(f8.buffer))
    )
    const arr = value as NdArray
    // Column-major [[1.1, 3, 5], [2, 4, 6]] -> C order.
    expect(Array.from(toFloat32(arr, 'x'))).toEqual([Math.fround(1.1), 3, 5, 2, 4, 6])
    const be = new Uint8Array([0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0])
    expect(
      Array.from(
        toFloat32(
          parseNpy(npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", be)).value as NdArray,
          'x'
        )
      )
    ).toEqual([1, -2])
    const f2 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c])
    expect(
      Array.from(
        toFloat32(
          parseNpy(npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (4,)}", f2)).value as NdArray,
          'x'
        )
      )
    ).toEqual([1, -2, 2 ** -24, Infinity])
  })

  it('says when array data is cut short', () => {
    const buf = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(12))
    expect(() => parseNpy(buf)).toThrow(
      /truncated file: array \(4\) <f4 needs 16 bytes of data from offset \d+ but the file has 12/
    )
  })
})
