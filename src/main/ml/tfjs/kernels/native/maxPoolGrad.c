// The gradient of 2x2 / stride 2 max pooling without padding (src/main/ml/wasmReduceKernels.ts) in
// WebAssembly SIMD, on the wasm backend's own memory. Built by scripts/build-wasm-kernels.sh into
// maxPoolGrad.wasm.ts. Windows do not overlap, so each input is written once: dy goes to the first maximum of
// its window in row-major order (as tfjs picks it; a window of NaN or -Infinity only gets none), 0 to the
// others. Rows or columns outside every window (odd sizes) are left to the caller. c must be a multiple of 4.
#include <wasm_simd128.h>

__attribute__((export_name("max_pool_grad_2x2")))
void max_pool_grad_2x2(const float* x, const float* dy, float* dx, int n, int h, int w, int c, int oh, int ow) {
  const long row = (long)w * c;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const long r0 = ((long)b * h + 2 * oy) * row + 2L * ox * c, r1 = r0 + c, r2 = r0 + row, r3 = r2 + c;
        const float* g = dy + (((long)b * oh + oy) * ow + ox) * c;
        for (int k = 0; k < c; k += 4) {
          const v128_t v0 = wasm_v128_load(x + r0 + k), v1 = wasm_v128_load(x + r1 + k);
          const v128_t v2 = wasm_v128_load(x + r2 + k), v3 = wasm_v128_load(x + r3 + k);
          // m_i: v_i beats every earlier value (strictly); the last true one is the first maximum.
          const v128_t m0 = wasm_f32x4_gt(v0, wasm_f32x4_splat(-__builtin_inff()));
          v128_t best = wasm_v128_bitselect(v0, wasm_f32x4_splat(-__builtin_inff()), m0);
          const v128_t m1 = wasm_f32x4_gt(v1, best);
          best = wasm_v128_bitselect(v1, best, m1);
          const v128_t m2 = wasm_f32x4_gt(v2, best);
          best = wasm_v128_bitselect(v2, best, m2);
          const v128_t m3 = wasm_f32x4_gt(v3, best);
          const v128_t d = wasm_v128_load(g + k);
          const v128_t later2 = m3, later1 = wasm_v128_or(m2, m3), later0 = wasm_v128_or(m1, later1);
          wasm_v128_store(dx + r3 + k, wasm_v128_bitselect(d, zero, m3));
          wasm_v128_store(dx + r2 + k, wasm_v128_bitselect(d, zero, wasm_v128_andnot(m2, later2)));
          wasm_v128_store(dx + r1 + k, wasm_v128_bitselect(d, zero, wasm_v128_andnot(m1, later1)));
          wasm_v128_store(dx + r0 + k, wasm_v128_bitselect(d, zero, wasm_v128_andnot(m0, later0)));
        }
      }
}
