// The gradient of max pooling with any window, stride and padding (NHWC; AlexNet's overlapping 3x3 / stride 2)
// in WebAssembly SIMD, on the wasm backend's own memory. Built by scripts/build-wasm-kernels.sh into
// maxPoolGradWindows.wasm.ts; called by src/main/ml/tfjs/kernels/wasmReduceKernels.ts (2x2 / stride 2 without
// padding has its own kernel, maxPoolGrad.c, which needs no zeroing since those windows do not overlap).
//
// dx starts at zero; every output position adds its dy to the first maximum of its window (clipped to the
// input) in row-major order, as tfjs's cpu backend picks it: a value wins only if it is strictly greater than
// every earlier one, so ties go to the first and a window of NaN or -Infinity sends its gradient nowhere.
// Overlapping windows accumulate. Per 4 channels, a first pass over the window finds the winner's tap index
// (-1 for none) and a second adds dy at the tap whose index matches. c must be a multiple of 4. The module
// uses no memory of its own (no stack, no data).
#include <wasm_simd128.h>

__attribute__((export_name("max_pool_grad")))
void max_pool_grad(const float* x, const float* dy, float* dx, int n, int h, int w, int c, int oh, int ow, int fh,
                   int fw, int sh, int sw, int top, int left) {
  const long row = (long)w * c, image = (long)h * row;
  const v128_t zero = wasm_f32x4_splat(0);
  for (long i = 0, total = n * image; i < total; i += 4) wasm_v128_store(dx + i, zero);
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < oh; oy++) {
      const int y0 = oy * sh - top > 0 ? oy * sh - top : 0;
      const int y1 = oy * sh - top + fh < h ? oy * sh - top + fh : h;
      for (int ox = 0; ox < ow; ox++) {
        const int x0 = ox * sw - left > 0 ? ox * sw - left : 0;
        const int x1 = ox * sw - left + fw < w ? ox * sw - left + fw : w;
        const float* g = dy + (((long)b * oh + oy) * ow + ox) * c;
        const long base = b * image + (long)y0 * row + (long)x0 * c;
        const float* xw = x + base;
        float* dw = dx + base;
        for (int k = 0; k < c; k += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t at = wasm_i32x4_splat(-1);
          int tap = 0;
          for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++, tap++) {
              const v128_t v = wasm_v128_load(xw + (long)(yy - y0) * row + (long)(xx - x0) * c + k);
              const v128_t m = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, m);
              at = wasm_v128_bitselect(wasm_i32x4_splat(tap), at, m);
            }
          const v128_t d = wasm_v128_load(g + k);
          tap = 0;
          for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++, tap++) {
              float* p = dw + (long)(yy - y0) * row + (long)(xx - x0) * c + k;
              const v128_t hit = wasm_i32x4_eq(at, wasm_i32x4_splat(tap));
              wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), wasm_v128_and(d, hit)));
            }
        }
      }
    }
}
