// One SGD-with-momentum update of one variable in WebAssembly SIMD, on the wasm backend's own memory (called by
// src/main/ml/tfjs/kernels/momentum.ts). Built by scripts/build-wasm-kernels.sh into momentum.wasm.ts.
//
//   acc = m * acc + g          (in place: the accumulator is the optimizer's own and nothing else reads it)
//   out = (-lr) * acc + value  (a new buffer: the weights are read by cached XNNPACK operators by tensor id)
//
// with the same float32 multiplications and additions in the same order as tfjs's MomentumOptimizer, so the
// results are bit for bit its own. The module uses no memory of its own (no stack, no data).
#include <wasm_simd128.h>

__attribute__((export_name("momentum_step")))
void momentum_step(const float* value, float* acc, const float* g, float* out, long n, float m, float neg_lr) {
  const v128_t vm = wasm_f32x4_splat(m), vc = wasm_f32x4_splat(neg_lr);
  long i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t a = wasm_f32x4_add(wasm_f32x4_mul(vm, wasm_v128_load(acc + i)), wasm_v128_load(g + i));
    wasm_v128_store(acc + i, a);
    wasm_v128_store(out + i, wasm_f32x4_add(wasm_f32x4_mul(vc, a), wasm_v128_load(value + i)));
  }
  for (; i < n; i++) {
    const float a = m * acc[i] + g[i];
    acc[i] = a;
    out[i] = neg_lr * a + value[i];
  }
}
