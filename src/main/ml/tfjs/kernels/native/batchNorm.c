// The two passes of batch normalisation's training kernels (src/main/ml/batchNorm.ts) in WebAssembly SIMD,
// on the wasm backend's own memory. Built by scripts/build-wasm-kernels.sh into batchNorm.wasm.ts.
// Arrays are [m rows, c channels], row-major; c must be a multiple of 4 (the caller checks).
#include <wasm_simd128.h>

// Per-channel s1[j] = sum of u, s2[j] = sum of u * v over the rows, accumulated in float64 as the JS version
// does: the variance is E[x^2] - E[x]^2, which float32 sums would lose when the mean is large against the spread.
static inline v128_t hi(v128_t a) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1)); }

__attribute__((export_name("channel_sums")))
void channel_sums(const float* u, const float* v, int m, int c, double* s1, double* s2) {
  for (int j = 0; j < c; j += 4) {
    v128_t s1lo = wasm_f64x2_splat(0), s1hi = s1lo, s2lo = s1lo, s2hi = s1lo;
    const float* pu = u + j;
    const float* pv = v + j;
    for (int r = 0; r < m; r++) {
      const v128_t x = wasm_v128_load(pu), xy = wasm_f32x4_mul(x, wasm_v128_load(pv));
      s1lo = wasm_f64x2_add(s1lo, wasm_f64x2_promote_low_f32x4(x));
      s1hi = wasm_f64x2_add(s1hi, hi(x));
      s2lo = wasm_f64x2_add(s2lo, wasm_f64x2_promote_low_f32x4(xy));
      s2hi = wasm_f64x2_add(s2hi, hi(xy));
      pu += c;
      pv += c;
    }
    wasm_v128_store(s1 + j, s1lo);
    wasm_v128_store(s1 + j + 2, s1hi);
    wasm_v128_store(s2 + j, s2lo);
    wasm_v128_store(s2 + j + 2, s2hi);
  }
}

// out = u * k1[j] + v * k2[j] + k3[j] per channel j; v = 0 (null) leaves out the middle term.
__attribute__((export_name("channel_affine")))
void channel_affine(float* out, const float* u, const float* v, const float* k1, const float* k2, const float* k3,
                    int m, int c) {
  for (int r = 0; r < m; r++) {
    const long row = (long)r * c;
    if (v) {
      for (int j = 0; j < c; j += 4) {
        const v128_t y = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(u + row + j), wasm_v128_load(k1 + j)),
                                        wasm_f32x4_mul(wasm_v128_load(v + row + j), wasm_v128_load(k2 + j)));
        wasm_v128_store(out + row + j, wasm_f32x4_add(y, wasm_v128_load(k3 + j)));
      }
    } else {
      for (int j = 0; j < c; j += 4) {
        const v128_t y = wasm_f32x4_mul(wasm_v128_load(u + row + j), wasm_v128_load(k1 + j));
        wasm_v128_store(out + row + j, wasm_f32x4_add(y, wasm_v128_load(k3 + j)));
      }
    }
  }
}
