// The limits agree: whatever the contract accepts fits one WebSocket frame of `serve`.
import { describe, expect, it } from 'vitest'
import { CHANNEL_SCHEMAS } from '../../src/shared/contract/channels'
import { MAX_BASE64, MAX_FRAME_BYTES, MAX_ID_DIGITS, MAX_IDS } from '../../src/shared/limits'

describe('limits', () => {
  it('a select-all of the most and longest ids the contract accepts fits one frame', () => {
    const longest = 10 ** MAX_ID_DIGITS - 1
    const args = { imageIds: Array.from({ length: MAX_IDS }, () => longest), classId: longest }
    expect(CHANNEL_SCHEMAS['library:setLabel'].safeParse(args).success).toBe(true)
    const message = JSON.stringify({ type: 'invoke', id: 2 ** 31, channel: 'library:setLabel', args })
    expect(Buffer.byteLength(message)).toBeLessThan(MAX_FRAME_BYTES)
    // One digit more is refused by the contract, not by the socket.
    args.imageIds[0] = longest + 1
    expect(CHANNEL_SCHEMAS['library:setLabel'].safeParse(args).success).toBe(false)
  })

  it('the largest inline image the contract accepts fits one frame', () => {
    const args = { runId: 1, files: [{ name: 'x'.repeat(1000), dataBase64: 'A'.repeat(MAX_BASE64) }], top: 5 }
    expect(CHANNEL_SCHEMAS['training:predict'].safeParse(args).success).toBe(true)
    const message = JSON.stringify({ type: 'invoke', id: 1, channel: 'training:predict', args })
    expect(Buffer.byteLength(message)).toBeLessThan(MAX_FRAME_BYTES)
  })
})
