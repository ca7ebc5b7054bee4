// Forward 2-D convolution (NHWC) in WebAssembly SIMD, on the wasm backend's own memory, for the studio's
// train step: the forward pass of conv layers (FusedConv2D with no or a per-channel bias and a linear or ReLU
// activation) and, through a flipped and transposed filter, the input gradient (Conv2DBackpropInput, stride 1).
// Built by scripts/build-wasm-kernels.sh into conv2d.wasm.ts; called by src/main/ml/wasmKernels.ts.
//
//   out[n][y][x][o] = act(bias[o] + sum over i, j, c of in[n][y*sh + i - top][x*sw + j - left][c] * w[i][j][c][o])
//
// The weights are first packed (pack_weights) in blocks of 8 output channels, each block's kh * kw * ci rows
// of 8 values contiguous: the loops then read them as one stream. Read in place, a row of w is co floats
// apart from the next, and with co a power of two (256) those rows fall into a few cache sets: AlexNet's
// conv3 input gradient ran 4x slower than the same work with co = 384.
//
// The registers hold 4 output pixels (along x) x 8 output channels. Away from the borders (stride 1) one
// loop covers a whole tap row. Elsewhere each of the 4 pixels reads its input through its own pointer per
// tap, which points at a row of zeros (`zeros`, ci floats) where the tap falls in the padding or past the
// end of the row, so borders need no separate path. co must be a multiple of 4 (the caller checks). The
// module uses no memory of its own (no stack, no data).
#include <wasm_simd128.h>

typedef struct {
  int n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left;
} Dims;

// packed[ob][i][j][c][0..8) = the filter's value for output channel ob * 8 + lane (0 past co). With flip, the
// filter is the input gradient's: w is the layer's [kh][kw][co][ci] (its in and out channels are this
// convolution's out and in), read rotated by 180 degrees: value = w[kh-1-i][kw-1-j][o][c].
__attribute__((export_name("pack_weights")))
void pack_weights(const float* w, float* packed, int kh, int kw, int ci, int co, int flip) {
  const int blocks = (co + 7) / 8;
  for (int ob = 0; ob < blocks; ob++)
    for (int i = 0; i < kh; i++)
      for (int j = 0; j < kw; j++)
        for (int c = 0; c < ci; c++) {
          float* dst = packed + ((((long)ob * kh + i) * kw + j) * ci + c) * 8;
          for (int lane = 0; lane < 8; lane++) {
            const int o = ob * 8 + lane;
            float v = 0;
            if (o < co)
              v = flip ? w[(((long)(kh - 1 - i) * kw + (kw - 1 - j)) * co + o) * ci + c]
                       : w[(((long)i * kw + j) * ci + c) * co + o];
            dst[lane] = v;
          }
        }
}

static inline const float* pixel(const Dims* d, const float* in, const float* zeros, int b, int iy, int x, int j) {
  const int ix = x * d->sw + j - d->left;
  if (x >= d->ow || ix < 0 || ix >= d->w) return zeros;
  return in + (((long)b * d->h + iy) * d->w + ix) * d->ci;
}

static inline v128_t act(v128_t v, int relu) { return relu ? wasm_f32x4_max(v, wasm_f32x4_splat(0)) : v; }

// Adds the products over k in [0, len) of p0..p3[k] and the packed weight rows wr + 8 k to the accumulators.
#define MAC_LOOP(len)                                                                              \
  for (int k = 0; k < (len); k++) {                                                                \
    v128_t w0 = wasm_v128_load(wr), w1 = wasm_v128_load(wr + 4);                                    \
    v128_t v0 = wasm_v128_load32_splat(p0 + k), v1 = wasm_v128_load32_splat(p1 + k);                \
    v128_t v2 = wasm_v128_load32_splat(p2 + k), v3 = wasm_v128_load32_splat(p3 + k);                \
    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v0, w0));                                             \
    a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v0, w1));                                             \
    a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v1, w0));                                             \
    a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v1, w1));                                             \
    a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v2, w0));                                             \
    a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v2, w1));                                             \
    a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v3, w0));                                             \
    a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v3, w1));                                             \
    wr += 8;                                                                                       \
  }

// Output row y of image b, output channels [8 ob, 8 ob + 8) (the last block may hold only 4).
static void row(const Dims* d, const float* in, const float* wp, const float* bias, float* out, const float* zeros,
                int b, int y, int ob, int relu) {
  const int o = ob * 8;
  const int wide = o + 8 <= d->co;
  const v128_t b0 = bias ? wasm_v128_load(bias + o) : wasm_f32x4_splat(0);
  const v128_t b1 = bias && wide ? wasm_v128_load(bias + o + 4) : wasm_f32x4_splat(0);
  const float* block = wp + (long)ob * d->kh * d->kw * d->ci * 8;
  for (int x = 0; x < d->ow; x += 4) {
    const int np = d->ow - x < 4 ? d->ow - x : 4;
    // Stride 1 and all four pixels' taps inside the row: a tap row's kw * ci inputs are contiguous per pixel,
    // and so are its packed weights, so one loop covers the whole tap row.
    const int interior = d->sw == 1 && np == 4 && x - d->left >= 0 && x + 3 + d->kw - 1 - d->left < d->w;
    v128_t a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
    for (int i = 0; i < d->kh; i++) {
      const int iy = y * d->sh + i - d->top;
      if (iy < 0 || iy >= d->h) continue;
      if (interior) {
        const float* p0 = in + (((long)b * d->h + iy) * d->w + x - d->left) * d->ci;
        const float *p1 = p0 + d->ci, *p2 = p1 + d->ci, *p3 = p2 + d->ci;
        const float* wr = block + (long)i * d->kw * d->ci * 8;
        MAC_LOOP(d->kw * d->ci)
        continue;
      }
      for (int j = 0; j < d->kw; j++) {
        const float* p0 = pixel(d, in, zeros, b, iy, x, j);
        const float* p1 = pixel(d, in, zeros, b, iy, x + 1, j);
        const float* p2 = pixel(d, in, zeros, b, iy, x + 2, j);
        const float* p3 = pixel(d, in, zeros, b, iy, x + 3, j);
        const float* wr = block + ((long)i * d->kw + j) * d->ci * 8;
        MAC_LOOP(d->ci)
      }
    }
    // Pixel p (of the np in this block) gets the accumulators lo, hi.
    float* q = out + (((long)b * d->oh + y) * d->ow + x) * d->co + o;
#define STORE(p, lo, hi)                                          \
  if (np > (p)) {                                                 \
    wasm_v128_store(q + (p) * d->co, act(lo, relu));              \
    if (wide) wasm_v128_store(q + (p) * d->co + 4, act(hi, relu)); \
  }
    STORE(0, a00, a01)
    STORE(1, a10, a11)
    STORE(2, a20, a21)
    STORE(3, a30, a31)
#undef STORE
  }
}

// wp: the weights packed by pack_weights. zeros: ci floats of scratch that this function sets to 0. bias: 0
// for none.
__attribute__((export_name("conv2d")))
void conv2d(const float* in, const float* wp, const float* bias, float* out, float* zeros, int n, int h, int wd,
            int ci, int oh, int ow, int co, int kh, int kw, int sh, int sw, int top, int left, int relu) {
  const Dims d = {n, h, wd, ci, oh, ow, co, kh, kw, sh, sw, top, left};
  for (int c = 0; c < ci; c++) zeros[c] = 0;
  const int blocks = (co + 7) / 8;
  // One image at a time, its input in the L2 cache while every block of packed weights streams past it.
  for (int b = 0; b < n; b++)
    for (int ob = 0; ob < blocks; ob++)
      for (int y = 0; y < oh; y++) row(&d, in, wp, bias, out, zeros, b, y, ob, relu);
}
