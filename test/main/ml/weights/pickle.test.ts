// The non-executing pickle reader, opcode by opcode, on hand-written byte streams.
import { describe, expect, it } from 'vitest'
import {
  NdArray,
  NpDtype,
  PickleError,
  PyBytes,
  unpickle,
  type PyValue
} from '../../../../src/main/ml/weights/pickle'

/** Bytes from a mix of strings (latin-1) and numbers (single bytes). */
function b(...parts: (string | number | Uint8Array)[]): Uint8Array {
  const out: number[] = []
  for (const p of parts) {
    if (typeof p === 'number') out.push(p)
    else if (typeof p === 'string') for (const c of Buffer.from(p, 'latin1')) out.push(c)
    else out.push(...p)
  }
  return new Uint8Array(out)
}
const u32 = (n: number): Uint8Array => {
  const x = new Uint8Array(4)
  new DataView(x.buffer).setUint32(0, n, true)
  return x
}
const u64 = (n: number): Uint8Array => {
  const x = new Uint8Array(8)
  new DataView(x.buffer).setBigUint64(0, BigInt(n), true)
  return x
}
const load = (bytes: Uint8Array): PyValue => unpickle(bytes).value
const error = (bytes: Uint8Array): PickleError => {
  try {
    unpickle(bytes)
  } catch (e) {
    if (e instanceof PickleError) return e
    throw e
  }
  throw new Error('no error')
}

describe('unpickle', () => {
  it('reads containers, ints, floats and strings', () => {
    // {'a': [1, 300, -2, 2**40, None, True, False, 1.5], u'b': (u'é',), b'c': ()}
    const v = load(
      b(
        0x80,
        2,
        '}',
        '(',
        'U',
        1,
        'a',
        ']',
        '(',
        'K',
        1,
        'M',
        0x2c,
        0x01,
        'J',
        0xfe,
        0xff,
        0xff,
        0xff,
        0x8a,
        6,
        0,
        0,
        0,
        0,
        0,
        1,
        'N',
        0x88,
        0x89,
        'G',
        0x3f,
        0xf8,
        0,
        0,
        0,
        0,
        0,
        0,
        'e',
        'X',
        u32(1),
        'b',
        0x8c,
        2,
        0xc3,
        0xa9,
        0x85,
        'C',
        1,
        'c',
        ')',
        'u',
        '.'
      )
    )
    expect(v).toBeInstanceOf(Map)
    const m = v as Map<unknown, PyValue>
    expect(m.get('a')).toEqual([1, 300, -2, 2 ** 40, null, true, false, 1.5])
    expect(m.get('b')).toEqual(['é'])
    expect(m.get('c')).toEqual([])
  })

  it('reads DICT, LIST, TUPLE, negative LONG1 and the 8-byte forms', () => {
    const v = load(
      b(
        0x80,
        4,
        0x95,
        u64(30),
        '(',
        0x8d,
        u64(1),
        'k',
        '(',
        0x8a,
        2,
        0x00,
        0x80,
        'l',
        'd',
        0x8e,
        u64(2),
        'xy',
        0x86,
        '.'
      )
    )
    const [d, bytes] = v as [Map<string, PyValue>, PyBytes]
    expect(d.get('k')).toEqual([-32768])
    expect(Array.from(bytes.bytes)).toEqual([0x78, 0x79])
  })

  it('memoizes with BINPUT, LONG_BINPUT and MEMOIZE', () => {
    // [x, x, y, y, z, z] where x, y, z are stored under 3, 70000 and memo.size
    const v = load(
      b(
        0x80,
        4,
        ']',
        '(',
        'K',
        5,
        'q',
        3,
        'h',
        3,
        'K',
        6,
        'r',
        u32(70000),
        'j',
        u32(70000),
        'K',
        7,
        0x94,
        'h',
        2,
        'e',
        '.'
      )
    )
    // MEMOIZE stores at index memo.size, which is 2 after two entries.
    expect(v).toEqual([5, 5, 6, 6, 7, 7])
  })

  it('rebuilds a numpy array from _reconstruct and BUILD without copying the data', () => {
    const data = new Uint8Array(new Float32Array([1.5, -2]).buffer)
    const bytes = b(
      0x80,
      2,
      'cnumpy.core.multiarray\n_reconstruct\n',
      'cnumpy\nndarray\n',
      'K',
      0,
      0x85,
      'U',
      1,
      'b',
      0x87,
      'R',
      '(',
      'K',
      1,
      'K',
      2,
      0x85,
      'cnumpy\ndtype\n',
      'U',
      2,
      'f4',
      'K',
      0,
      'K',
      1,
      0x87,
      'R',
      '(',
      'K',
      3,
      'U',
      1,
      '<',
      'N',
      'N',
      'N',
      'J',
      u32(0xffffffff),
      'J',
      u32(0xffffffff),
      'K',
      0,
      't',
      'b',
      0x89,
      'T',
      u32(8),
      data,
      't',
      'b',
      '.'
    )
    const arr = load(bytes) as NdArray
    expect(arr).toBeInstanceOf(NdArray)
    expect(arr.shape).toEqual([2])
    expect(arr.dtype).toBeInstanceOf(NpDtype)
    expect(arr.dtype.str).toBe('<f4')
    expect(arr.fortranOrder).toBe(false)
    expect(Array.from(arr.raw!)).toEqual(Array.from(data))
    expect(arr.raw!.buffer).toBe(bytes.buffer)
  })

  it('refuses globals other than numpy reconstruction, naming them', () => {
    const os = error(b(0x80, 2, 'cos\nsystem\n', 'U', 2, 'id', 0x85, 'R', '.'))
    expect(os.message).toMatch(/refusing to load: the pickle asks for the Python global 'os\.system'/)
    expect(os.offset).toBe(2)
    const evil = error(b(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.'))
    expect(evil.message).toContain("'builtins.eval'")
    expect(error(b(0x80, 2, 'csubprocess\nPopen\n', '.')).message).toContain("'subprocess.Popen'")
    expect(error(b(0x80, 2, 'cnumpy\nload\n', '.')).message).toContain("'numpy.load'")
    // _reconstruct is allowed, but only to make an ndarray.
    const recon = error(
      b(0x80, 2, 'cnumpy.core.multiarray\n_reconstruct\n', 'cnumpy\ndtype\n', 0x85, 'R', '.')
    )
    expect(recon.message).toMatch(/only numpy\.ndarray is allowed/)
  })

  it('refuses structured dtypes', () => {
    const e = error(
      b(
        0x80,
        2,
        'cnumpy\ndtype\n',
        'U',
        2,
        'V8',
        'K',
        0,
        'K',
        1,
        0x87,
        'R',
        '(',
        'K',
        3,
        'U',
        1,
        '|',
        'N',
        'U',
        1,
        'a',
        0x85,
        '}',
        'K',
        8,
        'K',
        1,
        'K',
        0,
        't',
        'b',
        '.'
      )
    )
    expect(e.message).toMatch(/structured or sub-array dtype V8 is not supported/)
  })

  it('names an unknown opcode and its offset', () => {
    const e = error(b(0x80, 2, ']', 'I', '1\n', '.'))
    expect(e.message).toMatch(/unsupported pickle opcode 0x49 'I' at byte offset 3/)
    expect(e.offset).toBe(3)
  })

  it('rejects malformed streams', () => {
    expect(error(b(0x80, 2, 'K', 1, 'K', 2, '.')).message).toMatch(/values left on the stack/)
    expect(error(b(0x80, 2, 'a', '.')).message).toMatch(/stack underflow/)
    expect(error(b(0x80, 2, 'h', 9, '.')).message).toMatch(/memo entry 9 was never stored/)
    expect(error(b(0x80, 2, 'K', 1, ')', 'R', '.')).message).toMatch(/REDUCE on int 1, which is not callable/)
    expect(error(b(0x80, 2, ']', 'K', 1, 'b', '.')).message).toMatch(/BUILD on list/)
    expect(error(b(0x80, 2, 'e', '.')).message).toMatch(/no MARK/)
    expect(error(b(0x80, 9, '.')).message).toMatch(/protocol 9/)
  })

  it('checks array data against shape and dtype', () => {
    const bytes = b(
      0x80,
      2,
      'cnumpy._core.multiarray\n_reconstruct\n',
      'cnumpy\nndarray\n',
      'K',
      0,
      0x85,
      'U',
      1,
      'b',
      0x87,
      'R',
      '(',
      'K',
      1,
      'K',
      3,
      0x85,
      'cnumpy\ndtype\n',
      'U',
      2,
      'f4',
      0x89,
      0x88,
      0x87,
      'R',
      '(',
      'K',
      3,
      'U',
      1,
      '<',
      'N',
      'N',
      'N',
      'K',
      0,
      'K',
      0,
      'K',
      0,
      't',
      'b',
      0x89,
      'U',
      8,
      '12345678',
      't',
      'b',
      '.'
    )
    expect(error(bytes).message).toMatch(/shape \(3\) and dtype <f4 needs 12 bytes but the pickle holds 8/)
  })

  it('reports truncation with offsets', () => {
    const e = error(b(0x80, 2, 'T', u32(100), 'abc'))
    expect(e.message).toMatch(/truncated file: BINSTRING at byte offset 2 needs 100 more bytes at offset 7/)
    expect(error(b(0x80, 2, 'cnumpy\nndar')).message).toMatch(/truncated file/)
    expect(error(b(0x80, 2, 'K', 1)).message).toMatch(
      /truncated file: the pickle ends at byte offset 4 before its STOP/
    )
  })
})
