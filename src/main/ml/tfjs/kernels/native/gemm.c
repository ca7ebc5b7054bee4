// out = a @ b for a few rows of a (a dense layer's batch) and a large b read in place (row-major, fresh each
// train step), in WebAssembly SIMD on the wasm backend's own memory. Built by scripts/build-wasm-kernels.sh
// into gemm.wasm.ts; called by src/main/ml/wasmKernels.ts (BatchMatMul). XNNPACK would pack b first, or the
// studio would transpose it: for AlexNet's fc6 (9216 x 4096) either pass over 151 MB cost more than the
// product. Here b is read row by row, four rows at a time, and each output row gets the four rows' products
// in one pass. n must be a multiple of 4 (the caller checks). a: [m, k], b: [k, n], out: [m, n].
#include <wasm_simd128.h>

__attribute__((export_name("gemm_rows")))
void gemm_rows(const float* a, const float* b, float* out, int m, int k, int n) {
  for (long t = 0; t < (long)m * n; t++) out[t] = 0;
  int k0 = 0;
  for (; k0 + 4 <= k; k0 += 4) {
    const float *b0 = b + (long)k0 * n, *b1 = b0 + n, *b2 = b1 + n, *b3 = b2 + n;
    for (int r = 0; r < m; r++) {
      const float* ar = a + (long)r * k + k0;
      const v128_t a0 = wasm_f32x4_splat(ar[0]), a1 = wasm_f32x4_splat(ar[1]);
      const v128_t a2 = wasm_f32x4_splat(ar[2]), a3 = wasm_f32x4_splat(ar[3]);
      float* o = out + (long)r * n;
      for (int j = 0; j < n; j += 4) {
        v128_t s = wasm_f32x4_add(wasm_f32x4_mul(a0, wasm_v128_load(b0 + j)), wasm_f32x4_mul(a1, wasm_v128_load(b1 + j)));
        s = wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_mul(a2, wasm_v128_load(b2 + j)),
                                             wasm_f32x4_mul(a3, wasm_v128_load(b3 + j))));
        wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(o + j), s));
      }
    }
  }
  for (; k0 < k; k0++) {
    const float* b0 = b + (long)k0 * n;
    for (int r = 0; r < m; r++) {
      const v128_t a0 = wasm_f32x4_splat(a[(long)r * k + k0]);
      float* o = out + (long)r * n;
      for (int j = 0; j < n; j += 4)
        wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(o + j), wasm_f32x4_mul(a0, wasm_v128_load(b0 + j))));
    }
  }
}
