// Local response normalisation across channels (AlexNet's LRN, NHWC) and its gradient in WebAssembly SIMD, on
// the wasm backend's own memory. Built by scripts/build-wasm-kernels.sh into lrn.wasm.ts; called by
// src/main/ml/tfjs/kernels/wasmLrnKernels.ts. With the window W(c) = [c - r, c + r] clipped to the channels,
//
//   norm[c] = bias + alpha * sum over k in W(c) of x[k]^2,    y[c] = x[c] * norm[c]^-beta
//   dx[k]   = dy[k] * norm[k]^-beta - 2 * alpha * beta * x[k] * sum over c in W(k) of dy[c] * y[c] / norm[c]
//
// (the window is symmetric: k is in W(c) exactly when c is in W(k)), which is what tfjs's cpu LRN and LRNGrad
// compute. Each pixel's c channels are handled 4 at a time: the squares (and, for the gradient, the terms
// dy * y / norm) go into a scratch row with r zeros on either side, so the clipped window at the first and
// last channels needs no special case. norm^-beta is computed for beta 0.5, 0.75 and 1 (mode 0, 1, 2) with
// square roots and a division; the caller keeps other values on tfjs's kernel. c must be a multiple of 4;
// scratch holds 2 * (c + 2r) floats. The module uses no memory of its own (no stack, no data).
#include <wasm_simd128.h>

static inline v128_t inv_pow(v128_t norm, int mode) {
  const v128_t one = wasm_f32x4_splat(1);
  if (mode == 2) return wasm_f32x4_div(one, norm);
  const v128_t s = wasm_f32x4_sqrt(norm);
  if (mode == 0) return wasm_f32x4_div(one, s);
  return wasm_f32x4_div(one, wasm_f32x4_mul(s, wasm_f32x4_sqrt(s)));
}

// Sum of row[k .. k + 2r] for 4 consecutive k (row is a padded scratch row: row[r + c] holds channel c).
static inline v128_t window_sum(const float* row, int k, int r) {
  v128_t s = wasm_v128_load(row + k);
  for (int d = 1; d <= 2 * r; d++) s = wasm_f32x4_add(s, wasm_v128_load(row + k + d));
  return s;
}

static void zero_borders(float* row, int c, int r) {
  for (int i = 0; i < r; i++) {
    row[i] = 0;
    row[r + c + i] = 0;
  }
}

__attribute__((export_name("lrn")))
void lrn(const float* x, float* y, float* scratch, int pixels, int c, int r, float bias, float alpha, int mode) {
  zero_borders(scratch, c, r);
  const v128_t vb = wasm_f32x4_splat(bias), va = wasm_f32x4_splat(alpha);
  for (long p = 0; p < pixels; p++) {
    const float* xp = x + p * c;
    float* yp = y + p * c;
    for (int k = 0; k < c; k += 4) {
      const v128_t v = wasm_v128_load(xp + k);
      wasm_v128_store(scratch + r + k, wasm_f32x4_mul(v, v));
    }
    for (int k = 0; k < c; k += 4) {
      const v128_t norm = wasm_f32x4_add(vb, wasm_f32x4_mul(va, window_sum(scratch, k, r)));
      wasm_v128_store(yp + k, wasm_f32x4_mul(wasm_v128_load(xp + k), inv_pow(norm, mode)));
    }
  }
}

__attribute__((export_name("lrn_grad")))
void lrn_grad(const float* x, const float* y, const float* dy, float* dx, float* scratch, int pixels, int c, int r,
              float bias, float alpha, float beta, int mode) {
  float* sq = scratch;
  float* t = scratch + c + 2 * r;
  zero_borders(sq, c, r);
  zero_borders(t, c, r);
  const v128_t vb = wasm_f32x4_splat(bias), va = wasm_f32x4_splat(alpha);
  const v128_t scale = wasm_f32x4_splat(-2 * alpha * beta);
  for (long p = 0; p < pixels; p++) {
    const long o = p * c;
    for (int k = 0; k < c; k += 4) {
      const v128_t v = wasm_v128_load(x + o + k);
      wasm_v128_store(sq + r + k, wasm_f32x4_mul(v, v));
    }
    for (int k = 0; k < c; k += 4) {
      const v128_t norm = wasm_f32x4_add(vb, wasm_f32x4_mul(va, window_sum(sq, k, r)));
      const v128_t g = wasm_v128_load(dy + o + k);
      wasm_v128_store(t + r + k, wasm_f32x4_div(wasm_f32x4_mul(g, wasm_v128_load(y + o + k)), norm));
      wasm_v128_store(dx + o + k, wasm_f32x4_mul(g, inv_pow(norm, mode)));
    }
    for (int k = 0; k < c; k += 4) {
      const v128_t cross = wasm_f32x4_mul(wasm_f32x4_mul(scale, wasm_v128_load(x + o + k)), window_sum(t, k, r));
      wasm_v128_store(dx + o + k, wasm_f32x4_add(wasm_v128_load(dx + o + k), cross));
    }
  }
}
