// The ECharts option for training curves, as a pure function of the runs' data, so the chart's series
// can be tested without a canvas.
import type { RunSummary } from '@shared/training'
import type { BatchPoint } from '@renderer/stores/training'

export interface CurveSet {
  /** Shown in the legend when several runs are overlaid, e.g. "#3". */
  label: string
  history: RunSummary['history']
  batches: BatchPoint[]
}

export interface CurveLabels {
  train: string
  val: string
  batch: string
  epoch: string
  title: string
}

export interface CurveSeries {
  name: string
  type: 'line'
  data: [number, number][]
  showSymbol: boolean
  symbolSize?: number
  lineStyle: { width: number; type?: 'dashed'; opacity?: number }
  itemStyle?: { color: string }
  z?: number
}

const VAL_COLOR = '#e8710a'
const COLORS = ['#2f6feb', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2']

export function curveOption(kind: 'loss' | 'accuracy', sets: CurveSet[], l: CurveLabels) {
  const series: CurveSeries[] = []
  const several = sets.length > 1
  sets.forEach((set, i) => {
    // One run: train and validation in two colours. Several: one colour per run, validation dashed.
    const color = COLORS[i % COLORS.length]
    const valColor = several ? color : VAL_COLOR
    const prefix = several ? `${set.label} ` : ''
    // By epoch, whatever order the rows came in (a resumed epoch's row arrives after later ones were kept).
    const history = [...set.history].sort((x, y) => x.epoch - y.epoch)
    // Batch values are noisy: a thin, faint line under the per-epoch points.
    if (set.batches.length > 0) {
      series.push({
        name: `${prefix}${l.batch}`,
        type: 'line',
        data: set.batches.map((b) => [b.x, kind === 'loss' ? b.loss : b.accuracy]),
        showSymbol: false,
        lineStyle: { width: 1, opacity: 0.35 },
        itemStyle: { color },
        z: 1
      })
    }
    series.push({
      name: `${prefix}${l.train}`,
      type: 'line',
      data: history.map((h) => [h.epoch, kind === 'loss' ? h.trainLoss : h.trainAccuracy]),
      showSymbol: true,
      symbolSize: 7,
      lineStyle: { width: 2 },
      itemStyle: { color },
      z: 3
    })
    const val = history.filter((h) => (kind === 'loss' ? h.valLoss : h.valAccuracy) !== null)
    series.push({
      name: `${prefix}${l.val}`,
      type: 'line',
      data: val.map((h) => [h.epoch, (kind === 'loss' ? h.valLoss : h.valAccuracy) as number]),
      showSymbol: true,
      symbolSize: 7,
      lineStyle: { width: 2, type: 'dashed' },
      itemStyle: { color: valColor },
      z: 3
    })
  })
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 36, bottom: 36 },
    tooltip: {
      trigger: 'axis' as const,
      valueFormatter: (v: unknown) => (typeof v === 'number' ? v.toFixed(3) : String(v))
    },
    legend: { top: 0, type: 'scroll' as const },
    xAxis: { type: 'value' as const, name: l.epoch, nameLocation: 'middle' as const, nameGap: 24, min: 0 },
    yAxis:
      kind === 'accuracy' ? { type: 'value' as const, min: 0, max: 1 } : { type: 'value' as const, min: 0 },
    series
  }
}
