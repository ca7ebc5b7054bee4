// @vitest-environment happy-dom
// The shared progress bar: what screen readers are told (role, 0..100, name) and how full it is drawn.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ProgressBar from '@renderer/components/ui/ProgressBar.vue'

describe('progress bar', () => {
  it('announces the rounded percentage under its label and fills to the fraction', () => {
    const w = mount(ProgressBar, { props: { fraction: 0.426, label: 'Importing' } })
    const bar = w.find('[role="progressbar"]')
    expect(bar.attributes()).toMatchObject({
      'aria-valuenow': '43',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-label': 'Importing'
    })
    expect((w.find('.fill').element as HTMLElement).style.width).toBe('42.6%')
  })

  it('clamps a fraction outside 0..1', async () => {
    const w = mount(ProgressBar, { props: { fraction: 1.7, label: 'x' } })
    expect(w.find('[role="progressbar"]').attributes('aria-valuenow')).toBe('100')
    expect((w.find('.fill').element as HTMLElement).style.width).toBe('100%')
    await w.setProps({ fraction: -0.2 })
    expect(w.find('[role="progressbar"]').attributes('aria-valuenow')).toBe('0')
    expect((w.find('.fill').element as HTMLElement).style.width).toBe('0%')
  })
})
