#!/usr/bin/env python3
"""Makes the small BVLC-AlexNet-format fixtures in test/fixtures/bvlc (and, with --big DIR, a full-size
synthetic bvlc-alexnet.npy for timing the reader).

The real bvlc-alexnet.npy was written by Python 2 numpy: np.save(path, {layer: [W, b]}) pickles a 0-d
object array with cPickle protocol 2, so its strings are Python 2 `str` (SHORT_BINSTRING / BINSTRING) and
its module is numpy.core.multiarray. Python 3 cannot write that, so Py2Pickler below writes the same opcode
stream by hand; each file is then checked by loading it back with numpy, as users of the real file do:
np.load(path, encoding='latin1', allow_pickle=True).item().

Usage: python3 scripts/make-bvlc-fixtures.py [--out test/fixtures/bvlc] [--big DIR]
Needs numpy (Debian: python3-numpy).
"""
import argparse
import io
import json
import os
import pickle
import struct
import time

import numpy as np

# The layers of bvlc-alexnet.npy, at full width and at a tiny width with the same structure
# (grouped convs conv2/4/5 see half the input channels, fc6 takes the flattened conv5 output).
FULL_SHAPES = {
    'conv1': ((11, 11, 3, 96), (96,)),
    'conv2': ((5, 5, 48, 256), (256,)),
    'conv3': ((3, 3, 256, 384), (384,)),
    'conv4': ((3, 3, 192, 384), (384,)),
    'conv5': ((3, 3, 192, 256), (256,)),
    'fc6': ((9216, 4096), (4096,)),
    'fc7': ((4096, 4096), (4096,)),
    'fc8': ((4096, 1000), (1000,)),
}
TINY_SHAPES = {
    'conv1': ((3, 3, 3, 4), (4,)),
    'conv2': ((3, 3, 2, 6), (6,)),
    'conv3': ((3, 3, 6, 8), (8,)),
    'conv4': ((3, 3, 4, 8), (8,)),
    'conv5': ((3, 3, 4, 6), (6,)),
    'fc6': ((24, 10), (10,)),
    'fc7': ((10, 10), (10,)),
    'fc8': ((10, 5), (5,)),
}
# Python 2 dicts are not ordered by insertion; readers must not depend on order.
PY2_ORDER = ['fc6', 'conv3', 'fc7', 'conv1', 'conv5', 'fc8', 'conv2', 'conv4']


class Py2Pickler:
    """Writes what Python 2 cPickle.dump(obj, f, protocol=2) writes for np.save of a dict of float32
    arrays: GLOBAL + BINPUT for each new object, BINGET for objects seen before (the globals, the
    interned short strings, the one float32 dtype), MARK ... APPENDS / SETITEMS for lists and dicts,
    SHORT_BINSTRING / BINSTRING for every str (text and raw array data alike)."""

    def __init__(self, out):
        self.out = out
        self.memo = {}
        self.n = 0

    def put(self, key):
        # Memo indices count up like cPickle's; `key` only lets later references find the object.
        i = self.n
        self.n += 1
        self.memo[key] = i
        self.out.write(b'q' + bytes([i]) if i < 256 else b'r' + struct.pack('<I', i))

    def get(self, key):
        i = self.memo[key]
        self.out.write(b'h' + bytes([i]) if i < 256 else b'j' + struct.pack('<I', i))

    def int_(self, v):
        if 0 <= v < 256:
            self.out.write(b'K' + bytes([v]))
        elif 0 <= v < 65536:
            self.out.write(b'M' + struct.pack('<H', v))
        else:
            self.out.write(b'J' + struct.pack('<i', v))

    def str_(self, s, interned=True):
        """A Python 2 str; short names are interned (memoized by value), array data never is."""
        key = ('str', s)
        if interned and key in self.memo:
            return self.get(key)
        self.out.write((b'U' + bytes([len(s)])) if len(s) < 256 else (b'T' + struct.pack('<i', len(s))))
        self.out.write(s)
        self.put(key if interned else ('data', self.n))

    def global_(self, module, name):
        key = ('global', module, name)
        if key in self.memo:
            return self.get(key)
        self.out.write(b'c' + module + b'\n' + name + b'\n')
        self.put(key)

    def tuple_(self, items, key):
        if not items:
            self.out.write(b')')
            return
        if len(items) <= 3:
            for it in items:
                it()
            self.out.write(bytes([0x84 + len(items)]))  # TUPLE1..3 are 0x85..0x87
        else:
            self.out.write(b'(')
            for it in items:
                it()
            self.out.write(b't')
        self.put(key)

    def dtype_f4(self):
        key = ('dtype', 'f4')
        if key in self.memo:
            return self.get(key)
        self.global_(b'numpy', b'dtype')
        self.tuple_([lambda: self.str_(b'f4'), lambda: self.int_(0), lambda: self.int_(1)], ('t', 'dtype-args'))
        self.out.write(b'R')
        self.put(key)
        self.dtype_state(b'<', 0)

    def dtype_state(self, byteorder, flags):
        self.tuple_(
            [lambda: self.int_(3), lambda: self.str_(byteorder), lambda: self.out.write(b'N'),
             lambda: self.out.write(b'N'), lambda: self.out.write(b'N'), lambda: self.int_(-1),
             lambda: self.int_(-1), lambda: self.int_(flags)],
            ('t', 'dtype-state', byteorder),
        )
        self.out.write(b'b')

    def reconstruct(self, tag):
        self.global_(b'numpy.core.multiarray', b'_reconstruct')
        self.global_(b'numpy', b'ndarray')
        self.tuple_([lambda: self.int_(0)], ('t', 'zero', tag))
        self.str_(b'b')  # the args tuple is (ndarray, (0,), 'b')
        self.out.write(b'\x87')
        self.put(('t', 'rargs', tag))
        self.out.write(b'R')
        self.put(('arr', tag))

    def array_f4(self, a, tag, fortran=False):
        """fortran: store column-major with is_fortran True, as numpy pickles an F-contiguous array (such
        as a transposed one: converters from Caffe transposed the weights)."""
        a = np.asarray(a, dtype='<f4')
        fortran = fortran and a.ndim > 1
        self.reconstruct(tag)
        self.out.write(b'(')  # state: (1, shape, dtype, is_fortran, data)
        self.int_(1)
        self.tuple_([(lambda d=d: self.int_(d)) for d in a.shape], ('t', 'shape', tag))
        self.dtype_f4()
        self.out.write(b'\x88' if fortran else b'\x89')  # NEWTRUE / NEWFALSE
        self.str_(a.tobytes(order='F' if fortran else 'C'), interned=False)
        self.out.write(b't')
        self.put(('t', 'state', tag))
        self.out.write(b'b')

    def dump_layers(self, layers, order, fortran=False):
        """The whole pickle of np.save(dict): a 0-d object array whose data is [dict]."""
        self.out.write(b'\x80\x02')
        self.reconstruct('top')
        self.out.write(b'(')
        self.int_(1)
        self.out.write(b')')
        self.global_(b'numpy', b'dtype')
        self.tuple_([lambda: self.str_(b'O8'), lambda: self.int_(0), lambda: self.int_(1)], ('t', 'O8-args'))
        self.out.write(b'R')
        self.put(('dtype', 'O8'))
        self.dtype_state(b'|', 63)
        self.out.write(b'\x89')
        self.out.write(b']')
        self.put(('list', 'top'))
        self.out.write(b'}')
        self.put(('dict', 'top'))
        self.out.write(b'(')
        for name in order:
            W, b = layers[name]
            self.str_(name.encode('ascii'))
            self.out.write(b']')
            self.put(('list', name))
            self.out.write(b'(')
            self.array_f4(W, name + '/W', fortran)
            self.array_f4(b, name + '/b')
            self.out.write(b'e')  # APPENDS
        self.out.write(b'u')  # SETITEMS
        self.out.write(b'a')  # APPEND the dict to the object array's data list
        self.out.write(b't')
        self.put(('t', 'state', 'top'))
        self.out.write(b'b')
        self.out.write(b'.')


def npy_header_v1(descr='|O', shape=(), align=16):
    """The NPY 1.0 preamble as old numpy wrote it (padded to 16 bytes; numpy >= 1.14 pads to 64)."""
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    pad = align - (10 + len(d) + 1) % align
    d = d + ' ' * (pad % align) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(d)) + d.encode('latin1')


def write_py2(path, layers, order, fortran=False):
    with open(path, 'wb') as f:
        f.write(npy_header_v1())
        Py2Pickler(f).dump_layers(layers, order, fortran)


def write_py3_proto(path, obj, protocol):
    """np.save's layout, but with the pickle protocol of our choice (np.save itself uses 4)."""
    arr = np.empty((), dtype=object)
    arr[()] = obj
    with open(path, 'wb') as f:
        np.lib.format.write_array_header_1_0(f, {'descr': '|O', 'fortran_order': False, 'shape': ()})
        pickle.dump(arr, f, protocol=protocol)


def make_layers(shapes, seed):
    rng = np.random.default_rng(seed)
    return {
        name: [(rng.standard_normal(ws) * 0.05).astype(np.float32), (rng.standard_normal(bs) * 0.1).astype(np.float32)]
        for name, (ws, bs) in shapes.items()
    }


def summary(a):
    """What the tests compare: exact leading/trailing values (float32 -> float64 is exact) and a sum."""
    c = np.ascontiguousarray(np.asarray(a, dtype=np.float32)).ravel()
    return {
        'shape': list(a.shape),
        'first': [float(x) for x in c[:6]],
        'last': float(c[-1]),
        'sum': float(c.astype(np.float64).sum()),
        'sumAbs': float(np.abs(c.astype(np.float64)).sum()),
    }


def check_loads(path, layers):
    d = np.load(path, encoding='latin1', allow_pickle=True).item()
    assert sorted(d) == sorted(layers), (path, sorted(d))
    for name, (W, b) in layers.items():
        assert d[name][0].shape == W.shape and d[name][1].shape == b.shape, name
        assert np.array_equal(np.asarray(d[name][0], np.float32), np.asarray(W, np.float32)), name
        assert np.array_equal(np.asarray(d[name][1], np.float32), np.asarray(b, np.float32)), name


def make_small(out):
    os.makedirs(out, exist_ok=True)
    expected = {}
    tiny = make_layers(TINY_SHAPES, seed=1)

    def emit(name, layers, writer):
        path = os.path.join(out, name)
        writer(path)
        check_loads(path, layers)
        expected[name] = {k: {'W': summary(W), 'b': summary(b)} for k, (W, b) in layers.items()}
        print('%-28s %6d bytes' % (name, os.path.getsize(path)))

    # Exactly the real file's layout: Python 2 protocol 2, numpy.core, BINSTRING data.
    emit('tiny-py2.npy', tiny, lambda p: write_py2(p, tiny, PY2_ORDER))
    # The same with every W column-major, in case the real file's transposed weights were pickled so.
    emit('tiny-py2-fortran.npy', tiny, lambda p: write_py2(p, tiny, PY2_ORDER, fortran=True))
    # What numpy 2 on Python 3 writes today (protocol 4: FRAME, STACK_GLOBAL, MEMOIZE, BINBYTES, numpy._core).
    emit('tiny-py3.npy', tiny, lambda p: np.save(p, tiny, allow_pickle=True))
    # Python 3 at protocol 2: bytes become _codecs.encode(u'...', 'latin1').
    emit('tiny-py3-proto2.npy', tiny, lambda p: write_py3_proto(p, tiny, 2))
    # Protocol 5: arrays become numpy._core.numeric._frombuffer(bytearray, dtype, shape, order).
    emit('tiny-py3-proto5.npy', tiny, lambda p: write_py3_proto(p, tiny, 5))

    # Other dtypes and layouts, each read back as C-ordered float32.
    rng = np.random.default_rng(2)
    w1 = rng.standard_normal((3, 3, 3, 4))  # float64, narrowed on read
    b1 = rng.standard_normal(4).astype('>f4')  # big-endian
    w2 = np.asfortranarray(rng.standard_normal((3, 3, 2, 6)).astype(np.float32))  # Fortran order
    b2 = rng.standard_normal(6).astype(np.float16)
    variants = {'conv1': [w1, b1], 'conv2': [w2, b2]}
    assert w2.flags.f_contiguous and not w2.flags.c_contiguous
    emit('variants.npy', variants, lambda p: np.save(p, variants, allow_pickle=True))
    emit('variants-proto5.npy', variants, lambda p: write_py3_proto(p, variants, 5))

    # Files that must be refused.
    with open(os.path.join(out, 'malicious-os-system.npy'), 'wb') as f:
        # What a hostile file looks like: os.system('...') as the top-level object.
        f.write(npy_header_v1() + b'\x80\x02cos\nsystem\nq\x00U\x1eecho pwned > /tmp/bvlc-pwned\x85R.')
    np.save(os.path.join(out, 'int-dtype.npy'), {'conv1': [np.arange(6, dtype=np.int32), np.zeros(2, np.float32)]})
    np.save(os.path.join(out, 'not-pairs.npy'), {'conv1': tiny['conv1'][0]}, allow_pickle=True)
    np.save(os.path.join(out, 'list-top.npy'), np.array([1, 'a'], dtype=object), allow_pickle=True)
    np.save(os.path.join(out, 'plain-f4.npy'), np.arange(12, dtype=np.float32).reshape(3, 4))

    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


def make_big(out, fortran):
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    layers = make_layers(FULL_SHAPES, seed=3)
    stem = 'bvlc-alexnet-synthetic' + ('-fortran' if fortran else '')
    path = os.path.join(out, stem + '.npy')
    write_py2(path, layers, PY2_ORDER, fortran)
    with open(os.path.join(out, stem + '.json'), 'w') as f:
        json.dump({k: {'W': summary(W), 'b': summary(b)} for k, (W, b) in layers.items()}, f)
    print('%s: %d bytes in %.1f s' % (path, os.path.getsize(path), time.time() - t0))
    if os.environ.get('CHECK_BIG'):
        check_loads(path, layers)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--out', default=os.path.join(here, '..', 'test', 'fixtures', 'bvlc'))
    ap.add_argument('--big', metavar='DIR', help='also write a full-size synthetic file (~233 MB) into DIR')
    ap.add_argument('--fortran', action='store_true', help='--big: store every W column-major')
    args = ap.parse_args()
    make_small(args.out)
    if args.big:
        make_big(args.big, args.fortran)
