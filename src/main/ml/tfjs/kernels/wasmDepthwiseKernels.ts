// The two gradient kernels of the depthwise convolution, for the wasm backend only.
//
// @tensorflow/tfjs-backend-wasm 4.22 has the forward DepthwiseConv2dNative (XNNPACK) but neither
// `DepthwiseConv2dNativeBackpropInput` nor `DepthwiseConv2dNativeBackpropFilter`, so MobileNetV2/V3 and
// EfficientNet (torchvision/build.ts: DepthwiseConv2D layers) could not train on it ("Kernel ... not
// registered for backend 'wasm'"). They are written here as plain JS loops over the wasm heap (the tensors'
// Float32Array views, no copy), NHWC, with the innermost loop over the channels so every access is
// sequential. Sums run in float64, as the cpu backend's do, and are stored once.
//
// With the filter w [kh, kw, C, M] (channel multiplier M), output channel k = c*M + m, stride s, the padding
// (top, left) of backend_util.computeConv2DInfo(..., depthwise = true) and xPad the padded input:
//   y[n, oy, ox, k]  = sum_{i, j}       xPad[n, oy*s + i, ox*s + j, c] * w[i, j, c, m]
//   dW[i, j, c, m]   = sum_{n, oy, ox}  xPad[n, oy*s + i, ox*s + j, c] * dy[n, oy, ox, k]
//   dx[n, y, x, c]   = sum_{i, j, m}    dy[n, (y + top - i)/s, (x + left - j)/s, k] * w[i, j, c, m]
// where the last sum takes the taps whose quotients are whole and inside dy. Dilations other than 1 are
// refused (tfjs's own gradient asserts the same).
import { backend_util, getKernel, registerKernel } from '@tensorflow/tfjs'
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import type { HeapBackend } from './native/heap'

const BACKEND = 'wasm'

type Shape4 = [number, number, number, number]

interface DepthwiseGradAttrs {
  strides: [number, number] | number
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding
  dilations?: [number, number] | number
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  /** Not set by tfjs (the depthwise gradients are NHWC only); refused if anything else is asked. */
  dataFormat?: string
}

/** Geometry of the convolution, checked: NHWC, float32, dilation 1. */
function convInfo(
  kernel: string,
  xShape: Shape4,
  filterShape: Shape4,
  attrs: DepthwiseGradAttrs,
  tensors: TensorInfo[]
): backend_util.Conv2DInfo {
  const { strides, pad, dilations = 1, dimRoundingMode, dataFormat } = attrs
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`)
  }
  const dil = typeof dilations === 'number' ? [dilations, dilations] : dilations
  if (dil.some((d) => d !== 1)) {
    throw new Error(`${kernel} on wasm supports dilations of 1 only, got [${dil.join(', ')}]`)
  }
  for (const t of tensors) {
    if (t.dtype !== 'float32') throw new Error(`${kernel} on wasm supports float32 only, got ${t.dtype}`)
  }
  if (xShape[3] !== filterShape[2]) {
    throw new Error(`${kernel}: input has ${xShape[3]} channels, the filter ${filterShape[2]}`)
  }
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    true,
    'channelsLast'
  )
}

function checkDy(kernel: string, dy: TensorInfo, info: backend_util.Conv2DInfo): void {
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels]
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernel}: dy has shape [${dy.shape}], the convolution gives [${expected}]`)
  }
}

/** dx of the depthwise convolution (NHWC); see the header. */
export const depthwiseConv2dNativeBackpropInputWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = 'DepthwiseConv2dNativeBackpropInput'
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
  const a = attrs as unknown as DepthwiseGradAttrs & { inputShape: Shape4 }
  const inputShape = a.inputShape
  const info = convInfo(kernel, inputShape, filter.shape as Shape4, a, [dy, filter])
  checkDy(kernel, dy, info)
  const [n, h, w, ch] = inputShape
  const [kh, kw, , mult] = filter.shape
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info
  const { top, left } = info.padInfo
  const co = ch * mult

  const heap = backend as unknown as HeapBackend
  const out = heap.makeOutput(inputShape, 'float32')
  // Views after makeOutput: allocating may grow (and so detach) the wasm memory.
  const dx = heap.typedArrayFromHeap(out) as Float32Array
  const g = heap.typedArrayFromHeap(dy) as Float32Array
  const f = heap.typedArrayFromHeap(filter) as Float32Array
  const acc = new Float64Array(ch)

  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      // Taps i with (y + top - i) a multiple of sh and the quotient a row of dy.
      const yt = y + top
      const iMin = Math.max(0, yt - (oh - 1) * sh)
      const iMax = Math.min(kh - 1, yt)
      for (let x = 0; x < w; x++) {
        const xt = x + left
        const jMin = Math.max(0, xt - (ow - 1) * sw)
        const jMax = Math.min(kw - 1, xt)
        acc.fill(0)
        for (let i = iMin; i <= iMax; i++) {
          const ry = yt - i
          if (ry % sh !== 0) continue
          const dyRow = (b * oh + ry / sh) * ow
          for (let j = jMin; j <= jMax; j++) {
            const rx = xt - j
            if (rx % sw !== 0) continue
            const dyOff = (dyRow + rx / sw) * co
            const wOff = (i * kw + j) * co
            if (mult === 1) {
              for (let c = 0; c < ch; c++) acc[c] += g[dyOff + c] * f[wOff + c]
            } else {
              for (let c = 0, k = 0; c < ch; c++) {
                let s = 0
                for (let m = 0; m < mult; m++, k++) s += g[dyOff + k] * f[wOff + k]
                acc[c] += s
              }
            }
          }
        }
        const dxOff = ((b * h + y) * w + x) * ch
        for (let c = 0; c < ch; c++) dx[dxOff + c] = acc[c]
      }
    }
  }
  return out
}

/** dW of the depthwise convolution (NHWC); see the header. */
export const depthwiseConv2dNativeBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = 'DepthwiseConv2dNativeBackpropFilter'
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const a = attrs as unknown as DepthwiseGradAttrs & { filterShape: Shape4 }
  const filterShape = a.filterShape
  const info = convInfo(kernel, x.shape as Shape4, filterShape, a, [x, dy])
  checkDy(kernel, dy, info)
  const [n, h, w, ch] = x.shape
  const [kh, kw, , mult] = filterShape
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info
  const { top, left } = info.padInfo
  const co = ch * mult

  const heap = backend as unknown as HeapBackend
  const out = heap.makeOutput(filterShape, 'float32')
  const dw = heap.typedArrayFromHeap(out) as Float32Array
  const xs = heap.typedArrayFromHeap(x) as Float32Array
  const g = heap.typedArrayFromHeap(dy) as Float32Array
  // The whole filter gradient (kh * kw * C * M values) stays in cache while the batch streams past.
  const acc = new Float64Array(kh * kw * co)

  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top
      const iMin = Math.max(0, -y0)
      const iMax = Math.min(kh - 1, h - 1 - y0)
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - left
        const jMin = Math.max(0, -x0)
        const jMax = Math.min(kw - 1, w - 1 - x0)
        const dyOff = ((b * oh + oy) * ow + ox) * co
        for (let i = iMin; i <= iMax; i++) {
          const xRow = (b * h + y0 + i) * w
          for (let j = jMin; j <= jMax; j++) {
            const xOff = (xRow + x0 + j) * ch
            const aOff = (i * kw + j) * co
            if (mult === 1) {
              for (let c = 0; c < ch; c++) acc[aOff + c] += xs[xOff + c] * g[dyOff + c]
            } else {
              for (let c = 0, k = 0; c < ch; c++) {
                const v = xs[xOff + c]
                for (let m = 0; m < mult; m++, k++) acc[aOff + k] += v * g[dyOff + k]
              }
            }
          }
        }
      }
    }
  }
  dw.set(acc)
  return out
}

/**
 * Registers both kernels for the wasm backend where it lacks them (idempotent; called by
 * registerWasmTrainingKernels). Returns the names of the kernels it added now.
 */
export function registerWasmDepthwiseKernels(): string[] {
  const kernels: Array<[string, KernelFunc]> = [
    ['DepthwiseConv2dNativeBackpropInput', depthwiseConv2dNativeBackpropInputWasm],
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseConv2dNativeBackpropFilterWasm]
  ]
  const added: string[] = []
  for (const [kernelName, kernelFunc] of kernels) {
    if (getKernel(kernelName, BACKEND)) continue
    registerKernel({ kernelName, backendName: BACKEND, kernelFunc })
    added.push(kernelName)
  }
  return added
}
