// One training step of a dense softmax layer (feature extraction's new last layer) in WebAssembly SIMD, fused:
// logits = x W + b, softmax, the cross-entropy gradient, dW = x^T dz computed tile by tile with each tile's
// Adam (or momentum) update applied as soon as its gradient is complete, so the gradient is never stored.
// Built by scripts/build-wasm-kernels.sh into head.wasm.ts; driven by src/main/ml/train/fastHead.ts, which owns
// the memory (its own, not tfjs's heap) and lays out the Head record below.
//
// The math is the trainer's TF.js step (gradients.ts: loss -log(clip(p[y], 1e-7, 1)) averaged over the batch,
// tf.train.adam / tf.train.momentum): a sample whose p[y] is under 1e-7 has no gradient, as through tfjs's clip.
// Adam's bias correction is folded into the rate and epsilon (lr sqrt(1-b2^t)/(1-b1^t), eps sqrt(1-b2^t)),
// which is the same update up to rounding and spares two divisions per weight.
//
// Layout: W [dim, kp] row-major and b [kp], kp = k rounded up to 4; columns k..kp-1 stay 0 (their gradient is
// 0). x rows are found through `rows` (an index per sample into x, row stride dim), labels as y[rows[r]].
#include <wasm_simd128.h>

typedef struct {
  int dim, k, kp, opt;    // opt: 0 Adam, 1 momentum (beta1 is the momentum)
  float beta1, beta2, eps;
  float acc1, acc2;       // Adam: beta1^t, beta2^t of the next step (tfjs's accBeta1/2, starting at beta)
  float* w;
  float* b;
  float* s1w;             // Adam's first moment, or momentum's accumulation
  float* s2w;             // Adam's second moment
  float* s1b;
  float* s2b;
  float* z;               // [maxBatch, kp] logits, then dz
  float* gb;              // [kp] bias gradient
  int* off;               // [maxBatch] row offsets into x
} Head;

#define LD wasm_v128_load
#define ST wasm_v128_store
#define SPLAT wasm_v128_load32_splat
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
#define FMA(acc, a, b) acc = ADD(acc, MUL(a, b))

/** e^x for x <= 0 (Cephes' expf: x = n ln2 + r, a degree-6 polynomial in r, 2^n through the exponent). */
static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f));
  const v128_t n = wasm_f32x4_nearest(MUL(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = SUB(x, MUL(n, wasm_f32x4_splat(0.693359375f)));
  r = SUB(r, MUL(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = ADD(MUL(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = ADD(MUL(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = ADD(MUL(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = ADD(MUL(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = ADD(MUL(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = ADD(ADD(MUL(MUL(p, r), r), r), wasm_f32x4_splat(1.0f));
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return MUL(p, scale);
}

/** z[r, :] = x[rows[r], :] W (no bias), four rows by eight columns at a time. */
static void logits(const Head* h, const float* x, int n) {
  const int dim = h->dim, kp = h->kp;
  const float* w = h->w;
  float* z = h->z;
  int r = 0;
  for (; r + 4 <= n; r += 4) {
    const float *x0 = x + h->off[r], *x1 = x + h->off[r + 1], *x2 = x + h->off[r + 2], *x3 = x + h->off[r + 3];
    float* zr = z + (long)r * kp;
    int c = 0;
    for (; c + 8 <= kp; c += 8) {
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      const float* wc = w + c;
      for (int i = 0; i < dim; i++, wc += kp) {
        const v128_t w0 = LD(wc), w1 = LD(wc + 4);
        v128_t s = SPLAT(x0 + i);
        FMA(a00, s, w0);
        FMA(a01, s, w1);
        s = SPLAT(x1 + i);
        FMA(a10, s, w0);
        FMA(a11, s, w1);
        s = SPLAT(x2 + i);
        FMA(a20, s, w0);
        FMA(a21, s, w1);
        s = SPLAT(x3 + i);
        FMA(a30, s, w0);
        FMA(a31, s, w1);
      }
      ST(zr + c, a00);
      ST(zr + c + 4, a01);
      ST(zr + kp + c, a10);
      ST(zr + kp + c + 4, a11);
      ST(zr + 2 * kp + c, a20);
      ST(zr + 2 * kp + c + 4, a21);
      ST(zr + 3 * kp + c, a30);
      ST(zr + 3 * kp + c + 4, a31);
    }
    if (c < kp) {
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
      const float* wc = w + c;
      for (int i = 0; i < dim; i++, wc += kp) {
        const v128_t w0 = LD(wc);
        FMA(a0, SPLAT(x0 + i), w0);
        FMA(a1, SPLAT(x1 + i), w0);
        FMA(a2, SPLAT(x2 + i), w0);
        FMA(a3, SPLAT(x3 + i), w0);
      }
      ST(zr + c, a0);
      ST(zr + kp + c, a1);
      ST(zr + 2 * kp + c, a2);
      ST(zr + 3 * kp + c, a3);
    }
  }
  for (; r < n; r++) {
    const float* x0 = x + h->off[r];
    float* zr = z + (long)r * kp;
    for (int c = 0; c < kp; c += 4) {
      v128_t a0 = wasm_f32x4_splat(0);
      const float* wc = w + c;
      for (int i = 0; i < dim; i++, wc += kp) FMA(a0, SPLAT(x0 + i), LD(wc));
      ST(zr + c, a0);
    }
  }
}

/**
 * Softmax of row r of z (plus the bias) into probabilities, in place. Writes p[label] to *picked and returns
 * whether the first maximum is the label (tf.argMax's choice).
 */
static int softmaxRow(const Head* h, float* zr, int label, float* picked) {
  const int k = h->k, kp = h->kp;
  for (int c = 0; c < kp; c += 4) ST(zr + c, ADD(LD(zr + c), LD(h->b + c)));
  float m = zr[0];
  int best = 0;
  for (int j = 1; j < k; j++)
    if (zr[j] > m) m = zr[j], best = j;
  const v128_t mv = wasm_f32x4_splat(m);
  for (int c = 0; c < kp; c += 4) ST(zr + c, exp4(SUB(LD(zr + c), mv)));
  for (int j = k; j < kp; j++) zr[j] = 0;
  float sum = 0;
  for (int j = 0; j < k; j++) sum += zr[j];
  const v128_t sv = wasm_f32x4_splat(sum);
  for (int c = 0; c < kp; c += 4) ST(zr + c, wasm_f32x4_div(LD(zr + c), sv));
  // The logit's first maximum is the probabilities' unless two probabilities round to the same float.
  float pb = zr[best];
  for (int j = 0; j < best; j++)
    if (zr[j] >= pb) {
      best = j;
      break;
    }
  *picked = zr[label];
  return best == label;
}

/** w += update for one vector of weights and its gradient g (Adam with folded bias correction, or momentum). */
static inline void update(const Head* h, float* w, float* s1, float* s2, v128_t g, v128_t lr, v128_t eps) {
  if (h->opt == 0) {
    const v128_t m = ADD(MUL(LD(s1), wasm_f32x4_splat(h->beta1)), MUL(g, wasm_f32x4_splat(1.0f - h->beta1)));
    const v128_t v = ADD(MUL(LD(s2), wasm_f32x4_splat(h->beta2)), MUL(MUL(g, g), wasm_f32x4_splat(1.0f - h->beta2)));
    ST(s1, m);
    ST(s2, v);
    ST(w, SUB(LD(w), MUL(wasm_f32x4_div(m, ADD(wasm_f32x4_sqrt(v), eps)), lr)));
  } else {
    const v128_t a = ADD(MUL(LD(s1), wasm_f32x4_splat(h->beta1)), g);
    ST(s1, a);
    ST(w, SUB(LD(w), MUL(a, lr)));
  }
}

/**
 * dW = x^T dz, tile by tile (four weight rows by eight columns), each tile updated as soon as its sum over the
 * batch is done; then the bias from gb.
 */
static void backward(Head* h, const float* x, int n, float lr) {
  const int dim = h->dim, kp = h->kp;
  const float* dz = h->z;
  const int* off = h->off;
  float lrT = lr, epsT = h->eps;
  if (h->opt == 0) {
    const float c1 = 1.0f - h->acc1, c2 = 1.0f - h->acc2, r2 = __builtin_sqrtf(c2);
    lrT = lr * r2 / c1;
    epsT = h->eps * r2;
  }
  const v128_t lv = wasm_f32x4_splat(lrT), ev = wasm_f32x4_splat(epsT);
  int i = 0;
  for (; i + 4 <= dim; i += 4) {
    int c = 0;
    for (; c + 8 <= kp; c += 8) {
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      const float* g = dz + c;
      for (int r = 0; r < n; r++, g += kp) {
        const float* xr = x + off[r] + i;
        const v128_t g0 = LD(g), g1 = LD(g + 4);
        v128_t s = SPLAT(xr);
        FMA(a00, s, g0);
        FMA(a01, s, g1);
        s = SPLAT(xr + 1);
        FMA(a10, s, g0);
        FMA(a11, s, g1);
        s = SPLAT(xr + 2);
        FMA(a20, s, g0);
        FMA(a21, s, g1);
        s = SPLAT(xr + 3);
        FMA(a30, s, g0);
        FMA(a31, s, g1);
      }
      const long o = (long)i * kp + c;
      update(h, h->w + o, h->s1w + o, h->s2w + o, a00, lv, ev);
      update(h, h->w + o + 4, h->s1w + o + 4, h->s2w + o + 4, a01, lv, ev);
      update(h, h->w + o + kp, h->s1w + o + kp, h->s2w + o + kp, a10, lv, ev);
      update(h, h->w + o + kp + 4, h->s1w + o + kp + 4, h->s2w + o + kp + 4, a11, lv, ev);
      update(h, h->w + o + 2 * kp, h->s1w + o + 2 * kp, h->s2w + o + 2 * kp, a20, lv, ev);
      update(h, h->w + o + 2 * kp + 4, h->s1w + o + 2 * kp + 4, h->s2w + o + 2 * kp + 4, a21, lv, ev);
      update(h, h->w + o + 3 * kp, h->s1w + o + 3 * kp, h->s2w + o + 3 * kp, a30, lv, ev);
      update(h, h->w + o + 3 * kp + 4, h->s1w + o + 3 * kp + 4, h->s2w + o + 3 * kp + 4, a31, lv, ev);
    }
    if (c < kp) {
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
      const float* g = dz + c;
      for (int r = 0; r < n; r++, g += kp) {
        const float* xr = x + off[r] + i;
        const v128_t g0 = LD(g);
        FMA(a0, SPLAT(xr), g0);
        FMA(a1, SPLAT(xr + 1), g0);
        FMA(a2, SPLAT(xr + 2), g0);
        FMA(a3, SPLAT(xr + 3), g0);
      }
      const long o = (long)i * kp + c;
      update(h, h->w + o, h->s1w + o, h->s2w + o, a0, lv, ev);
      update(h, h->w + o + kp, h->s1w + o + kp, h->s2w + o + kp, a1, lv, ev);
      update(h, h->w + o + 2 * kp, h->s1w + o + 2 * kp, h->s2w + o + 2 * kp, a2, lv, ev);
      update(h, h->w + o + 3 * kp, h->s1w + o + 3 * kp, h->s2w + o + 3 * kp, a3, lv, ev);
    }
  }
  for (; i < dim; i++) {
    for (int c = 0; c < kp; c += 4) {
      v128_t a0 = wasm_f32x4_splat(0);
      const float* g = dz + c;
      for (int r = 0; r < n; r++, g += kp) FMA(a0, SPLAT(x + off[r] + i), LD(g));
      const long o = (long)i * kp + c;
      update(h, h->w + o, h->s1w + o, h->s2w + o, a0, lv, ev);
    }
  }
  for (int c = 0; c < kp; c += 4) update(h, h->b + c, h->s1b + c, h->s2b + c, LD(h->gb + c), lv, ev);
  if (h->opt == 0) {
    h->acc1 *= h->beta1;
    h->acc2 *= h->beta2;
  }
}

/**
 * One step on the n samples x[rows[r]] with labels y[rows[r]] at rate lr (n <= the batch the memory was laid
 * out for). picked[r] gets p[label] (the caller takes the loss from it). Returns the number predicted right.
 */
__attribute__((export_name("head_step")))
int head_step(Head* h, const float* x, const int* y, const int* rows, int n, float lr, float* picked) {
  const int kp = h->kp;
  for (int r = 0; r < n; r++) h->off[r] = rows[r] * h->dim;
  logits(h, x, n);
  const v128_t invn = wasm_f32x4_splat(1.0f / (float)n);
  for (int c = 0; c < kp; c += 4) ST(h->gb + c, wasm_f32x4_splat(0));
  int correct = 0;
  for (int r = 0; r < n; r++) {
    float* zr = h->z + (long)r * kp;
    const int label = y[rows[r]];
    correct += softmaxRow(h, zr, label, picked + r);
    if (picked[r] < 1e-7f) {
      // Through tfjs's clip the loss is flat here: no gradient from this sample.
      for (int c = 0; c < kp; c += 4) ST(zr + c, wasm_f32x4_splat(0));
      continue;
    }
    zr[label] -= 1.0f;
    for (int c = 0; c < kp; c += 4) {
      const v128_t g = MUL(LD(zr + c), invn);
      ST(zr + c, g);
      ST(h->gb + c, ADD(LD(h->gb + c), g));
    }
  }
  backward(h, x, n, lr);
  return correct;
}

/**
 * A whole epoch: batches of `batch` samples in `order` (count of them; the last batch may be smaller), at
 * rates[s] for step s (or lr when rates is 0). picked[j] gets p[label] of order[j], correct[s] the step's hits.
 */
__attribute__((export_name("head_epoch")))
void head_epoch(Head* h, const float* x, const int* y, const int* order, int count, int batch, float lr,
                const float* rates, float* picked, int* correct) {
  for (int s = 0, start = 0; start < count; s++, start += batch) {
    const int n = count - start < batch ? count - start : batch;
    correct[s] = head_step(h, x, y, order + start, n, rates ? rates[s] : lr, picked + start);
  }
}

/** Class probabilities of the n samples x[rows[r]] into out [n, k] (no training). */
__attribute__((export_name("head_predict")))
void head_predict(Head* h, const float* x, const int* rows, int n, float* out) {
  const int kp = h->kp, k = h->k;
  for (int r = 0; r < n; r++) h->off[r] = rows[r] * h->dim;
  logits(h, x, n);
  for (int r = 0; r < n; r++) {
    float* zr = h->z + (long)r * kp;
    softmaxRow(h, zr, 0, h->gb);
    for (int j = 0; j < k; j++) out[(long)r * k + j] = zr[j];
  }
}
