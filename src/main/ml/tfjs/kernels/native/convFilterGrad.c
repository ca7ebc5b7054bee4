// Filter gradient of a 2-D convolution (NHWC), in WebAssembly SIMD, on the wasm backend's own memory.
// Built by scripts/build-wasm-kernels.sh into convFilterGrad.wasm.ts (clang --target=wasm32 -msimd128); loaded
// by src/main/ml/wasmConvGrad.ts, which passes byte offsets of tensors in tfjs-backend-wasm's heap.
//
//   dw[i][j][c][o] = sum over n, oy, ox of x[n][oy*sh + i - top][ox*sw + j - left][c] * dy[n][oy][ox][o]
//
// The output rows (all images' rows in a row) are taken in chunks of about 256 KB of dy, so that a chunk of dy
// and of x stays in the L2 cache while every tap, channel block and output block passes over it; dw is
// accumulated chunk by chunk. Taps whose input pixel falls in the padding contribute nothing: each tap (i, j)
// skips the rows and loops over the columns whose input pixel is inside the image, with no bounds test in the
// inner loop. The registers hold a 4 (input channels) x 8 (output channels) block of dw, or 3 x 8 for the last
// three channels (an RGB input); co must be a multiple of 4 (the caller checks). The module uses no memory of its own (no stack, no data): everything is in the
// imported memory.
#include <wasm_simd128.h>

typedef struct {
  int n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left;
} Dims;

static inline int lo_index(int pad, int tap, int stride) {
  // smallest o >= 0 with o*stride + tap - pad >= 0
  int need = pad - tap;
  if (need <= 0) return 0;
  return (need + stride - 1) / stride;
}

static inline int hi_index(int size, int pad, int tap, int stride, int out) {
  // one past the largest o < out with o*stride + tap - pad <= size - 1
  int last = size - 1 + pad - tap;
  if (last < 0) return 0;
  int h = last / stride + 1;
  return h < out ? h : out;
}

// One tap (i, j), channels [c, c + cc) with cc in 1..4, outputs [o, o + 8) (wide) or [o, o + 4).
#define ACC_LOOP(...)                                                                        \
  for (int r = r0; r < r1;) {                                                                \
    const int b = r / d->oh, base = b * d->oh;                                               \
    const int first = r - base, end = r1 - base < d->oh ? r1 - base : d->oh;                 \
    const int ya = first > y0 ? first : y0, yb = end < y1 ? end : y1;                        \
    for (int oy = ya; oy < yb; oy++) {                                                       \
      const float* xr = x + (((long)b * d->h + oy * d->sh + i - d->top) * d->w + x0 * d->sw + j - d->left) * d->ci + c; \
      const float* dr = dy + (((long)base + oy) * d->ow + x0) * d->co + o;                   \
      for (int ox = x0; ox < x1; ox++) {                                                     \
        __VA_ARGS__                                                                          \
        xr += xs;                                                                            \
        dr += d->co;                                                                         \
      }                                                                                      \
    }                                                                                        \
    r = base + d->oh;                                                                        \
  }

// Adds tap (i, j)'s sums over the output rows [r0, r1) (rows of all images in a row) to dw.
static void tap(const Dims* d, const float* x, const float* dy, float* dw, int i, int j, int r0, int r1) {
  const int y0 = lo_index(d->top, i, d->sh), y1 = hi_index(d->h, d->top, i, d->sh, d->oh);
  const int x0 = lo_index(d->left, j, d->sw), x1 = hi_index(d->w, d->left, j, d->sw, d->ow);
  const int xs = d->sw * d->ci;
  float* out = dw + ((long)i * d->kw + j) * d->ci * d->co;
  if (y0 >= y1 || x0 >= x1) return;
  int c = 0;
  for (; c + 4 <= d->ci; c += 4) {
    int o = 0;
    for (; o + 8 <= d->co; o += 8) {
      float* w0 = out + (long)c * d->co + o;
      float* w1 = w0 + d->co;
      float* w2 = w1 + d->co;
      float* w3 = w2 + d->co;
      v128_t a00 = wasm_v128_load(w0), a01 = wasm_v128_load(w0 + 4), a10 = wasm_v128_load(w1),
             a11 = wasm_v128_load(w1 + 4), a20 = wasm_v128_load(w2), a21 = wasm_v128_load(w2 + 4),
             a30 = wasm_v128_load(w3), a31 = wasm_v128_load(w3 + 4);
      ACC_LOOP({
        v128_t d0 = wasm_v128_load(dr), d1 = wasm_v128_load(dr + 4);
        v128_t v0 = wasm_v128_load32_splat(xr), v1 = wasm_v128_load32_splat(xr + 1);
        v128_t v2 = wasm_v128_load32_splat(xr + 2), v3 = wasm_v128_load32_splat(xr + 3);
        a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v0, d0));
        a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v0, d1));
        a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v1, d0));
        a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v1, d1));
        a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v2, d0));
        a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v2, d1));
        a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v3, d0));
        a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v3, d1));
      })
      wasm_v128_store(w0, a00); wasm_v128_store(w0 + 4, a01);
      wasm_v128_store(w1, a10); wasm_v128_store(w1 + 4, a11);
      wasm_v128_store(w2, a20); wasm_v128_store(w2 + 4, a21);
      wasm_v128_store(w3, a30); wasm_v128_store(w3 + 4, a31);
    }
    for (; o < d->co; o += 4) {
      float* w0 = out + (long)c * d->co + o;
      v128_t a0 = wasm_v128_load(w0), a1 = wasm_v128_load(w0 + d->co), a2 = wasm_v128_load(w0 + 2 * d->co),
             a3 = wasm_v128_load(w0 + 3 * d->co);
      ACC_LOOP({
        v128_t d0 = wasm_v128_load(dr);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(xr), d0));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load32_splat(xr + 1), d0));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load32_splat(xr + 2), d0));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load32_splat(xr + 3), d0));
      })
      wasm_v128_store(w0, a0); w0 += d->co;
      wasm_v128_store(w0, a1); w0 += d->co;
      wasm_v128_store(w0, a2); w0 += d->co;
      wasm_v128_store(w0, a3);
    }
  }
  if (d->ci - c == 3) {
    // Three channels left (an RGB input: AlexNet's conv1): all three at once, so each dy load serves three
    // channels; one at a time (below) loaded dy three times per pixel and took conv1's gradient at 23 GFLOP/s.
    int o = 0;
    for (; o + 8 <= d->co; o += 8) {
      float* w0 = out + (long)c * d->co + o;
      float* w1 = w0 + d->co;
      float* w2 = w1 + d->co;
      v128_t a00 = wasm_v128_load(w0), a01 = wasm_v128_load(w0 + 4), a10 = wasm_v128_load(w1),
             a11 = wasm_v128_load(w1 + 4), a20 = wasm_v128_load(w2), a21 = wasm_v128_load(w2 + 4);
      ACC_LOOP({
        v128_t d0 = wasm_v128_load(dr), d1 = wasm_v128_load(dr + 4);
        v128_t v0 = wasm_v128_load32_splat(xr), v1 = wasm_v128_load32_splat(xr + 1);
        v128_t v2 = wasm_v128_load32_splat(xr + 2);
        a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v0, d0));
        a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v0, d1));
        a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v1, d0));
        a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v1, d1));
        a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v2, d0));
        a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v2, d1));
      })
      wasm_v128_store(w0, a00); wasm_v128_store(w0 + 4, a01);
      wasm_v128_store(w1, a10); wasm_v128_store(w1 + 4, a11);
      wasm_v128_store(w2, a20); wasm_v128_store(w2 + 4, a21);
    }
    for (; o < d->co; o += 4) {
      float* w0 = out + (long)c * d->co + o;
      v128_t a0 = wasm_v128_load(w0), a1 = wasm_v128_load(w0 + d->co), a2 = wasm_v128_load(w0 + 2 * d->co);
      ACC_LOOP({
        v128_t d0 = wasm_v128_load(dr);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(xr), d0));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load32_splat(xr + 1), d0));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load32_splat(xr + 2), d0));
      })
      wasm_v128_store(w0, a0);
      wasm_v128_store(w0 + d->co, a1);
      wasm_v128_store(w0 + 2 * d->co, a2);
    }
    return;
  }
  for (; c < d->ci; c++) {
    int o = 0;
    for (; o + 16 <= d->co; o += 16) {
      float* w0 = out + (long)c * d->co + o;
      v128_t a0 = wasm_v128_load(w0), a1 = wasm_v128_load(w0 + 4), a2 = wasm_v128_load(w0 + 8),
             a3 = wasm_v128_load(w0 + 12);
      ACC_LOOP({
        v128_t v = wasm_v128_load32_splat(xr);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(v, wasm_v128_load(dr)));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(v, wasm_v128_load(dr + 4)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(v, wasm_v128_load(dr + 8)));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(v, wasm_v128_load(dr + 12)));
      })
      wasm_v128_store(w0, a0); wasm_v128_store(w0 + 4, a1); wasm_v128_store(w0 + 8, a2); wasm_v128_store(w0 + 12, a3);
    }
    for (; o < d->co; o += 4) {
      float* w0 = out + (long)c * d->co + o;
      v128_t a0 = wasm_v128_load(w0);
      ACC_LOOP({ a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(xr), wasm_v128_load(dr))); })
      wasm_v128_store(w0, a0);
    }
  }
}

__attribute__((export_name("conv_filter_grad")))
void conv_filter_grad(const float* x, const float* dy, float* dw, int n, int h, int w, int ci, int oh, int ow,
                      int co, int kh, int kw, int sh, int sw, int top, int left) {
  const Dims d = {n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left};
  const long size = (long)kh * kw * ci * co;
  for (long k = 0; k < size; k++) dw[k] = 0;
  // Rows of dy per chunk: about 256 KB of it, at least one row.
  int rows = (256 * 1024) / (ow * co * 4);
  if (rows < 1) rows = 1;
  const int total = n * oh;
  for (int r0 = 0; r0 < total; r0 += rows) {
    const int r1 = r0 + rows < total ? r0 + rows : total;
    for (int i = 0; i < kh; i++)
      for (int j = 0; j < kw; j++) tap(&d, x, dy, dw, i, j, r0, r1);
  }
}
