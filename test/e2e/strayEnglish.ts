// Finds English left on a screen that should be in another language: every visible text node and every
// user-facing attribute (title, placeholder, aria-label, alt) of the page, with the user's own data (class
// names, paths, file names) and the names the studio keeps in every language (AlexNet, ONNX, Ctrl...)
// taken out. What is left and still has a Latin word of three letters or more is reported, one entry per
// element, so a test can require that nothing is.
import type { Page } from 'playwright-core'

/** Names and terms that stay as they are in every language: products, formats, units, keys. */
export const KEPT_TERMS = [
  'Transfer Studio',
  'AlexNet',
  'BVLC',
  'ResNet',
  'MobileNetV3-Small',
  'MobileNetV3-Large',
  'MobileNetV2',
  'MobileNet',
  'EfficientNet',
  'ImageNet',
  'GTSRB',
  'ONNX',
  'UMAP',
  'umap-js',
  'onnxruntime',
  'TensorFlow',
  'TF.js',
  'tfjs',
  'WebAssembly',
  'SIMD',
  'wasm',
  'PyTorch',
  'torchvision',
  'XNNPACK',
  'CPU',
  'GPU',
  'CUDA',
  'JSON',
  'CSV',
  'PNG',
  'JPEG',
  'PPM',
  'WebP',
  'README',
  'SQLite',
  'Adam',
  'adam',
  'sgd',
  'CNN',
  'ClassId',
  'SignName',
  'NHWC',
  'NCHW',
  'float32',
  'SGD',
  'L-BFGS',
  'fc6',
  'fc7',
  'fc8',
  'conv',
  'top-1',
  'top-5',
  'ROI',
  'Ctrl',
  'Shift',
  'Alt',
  'Esc',
  'Enter',
  'Tab',
  'Space',
  'English',
  'model.json',
  'metadata.json',
  'labels.json',
  'model.onnx',
  'base.onnx',
  'head.onnx',
  'README.md'
]

export interface StrayText {
  /** The element's tag and data-test attribute, for finding it. */
  where: string
  /** The text with the kept terms and user data removed. */
  text: string
}

/**
 * Visible text on `page` that still reads as English after removing `userData` (class names, paths) and
 * `KEPT_TERMS`. Numbers, units (px, MB, KB, ms, min, s) and paths are ignored too.
 */
export async function strayEnglish(page: Page, userData: string[] = []): Promise<StrayText[]> {
  const remove = [...userData, ...KEPT_TERMS].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
  return page.evaluate((remove: string[]) => {
    type El = {
      tagName: string
      getAttribute(name: string): string | null
      getClientRects(): { length: number }
      parentElement: El | null
    }
    const doc = (globalThis as unknown as { document: unknown }).document as {
      body: unknown
      createTreeWalker(
        root: unknown,
        what: number
      ): { nextNode(): { textContent: string | null; parentElement: El | null } | null }
      querySelectorAll(sel: string): Iterable<El>
    }
    const visible = (el: El | null): boolean => {
      for (let e = el; e; e = e.parentElement) {
        if (e.tagName === 'SCRIPT' || e.tagName === 'STYLE' || e.tagName === 'NOSCRIPT') return false
        if (e.tagName === 'OPTION') return true
      }
      return !!el && el.getClientRects().length > 0
    }
    const where = (el: El | null): string => {
      let e = el
      while (e && !e.getAttribute('data-test')) e = e.parentElement
      return `${el?.tagName.toLowerCase() ?? '?'}${e ? `[data-test=${e.getAttribute('data-test')}]` : ''}`
    }
    const clean = (s: string): string => {
      // Names with a slash (a class called "Speed limit (30km/h)") go before paths are cut, the others after,
      // so a project called "signs" does not break up the path ".../signs.tsproj".
      let t = s
      for (const r of remove) if (r.includes('/')) t = t.split(r).join(' ')
      t = t
        .replace(/(?:[A-Za-z]:|~)?(?:[\\/][\w.\-()\u4e00-\u9fff]+)+[\\/]?/g, ' ') // paths
        .replace(/[\w.-]+\.(?:ppm|png|jpe?g|webp|bmp|npy|pth|onnx|json|csv|tsproj|md|bin)\b/gi, ' ') // file names
      for (const r of remove) if (!r.includes('/')) t = t.split(r).join(' ')
      return t.replace(/\b\d+(?:[.,]\d+)*\s*(?:px|[KMG]i?B|ms|min|s|h|x|%)?\b/g, ' ')
    }
    const out: { where: string; text: string }[] = []
    const walker = doc.createTreeWalker(doc.body, 4 /* NodeFilter.SHOW_TEXT */)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const raw = n.textContent ?? ''
      if (!/[A-Za-z]{3}/.test(raw) || !visible(n.parentElement)) continue
      const text = clean(raw)
      if (/[A-Za-z]{3,}/.test(text))
        out.push({ where: where(n.parentElement), text: text.trim().slice(0, 160) })
    }
    for (const el of doc.querySelectorAll('[title],[placeholder],[aria-label],img[alt]')) {
      if (!visible(el)) continue
      for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
        const v = el.getAttribute(a)
        if (!v) continue
        const text = clean(v)
        if (/[A-Za-z]{3,}/.test(text))
          out.push({ where: `${where(el)}@${a}`, text: text.trim().slice(0, 160) })
      }
    }
    return out
  }, remove)
}
