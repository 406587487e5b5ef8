import { describe, expect, it } from 'vitest';
import { decodeVideoMessage, encodeKeyframeRequest, formatAge, MAX_PAYLOAD_LEN } from './wire';

/** The frame of crates/video/src/wire.rs's `layout_matches_the_table` test, byte for byte. */
function sample(): Uint8Array {
  const id = [...'drv-1'].map((c) => c.charCodeAt(0));
  const codec = [...'avc1.42C01F'].map((c) => c.charCodeAt(0));
  const b = new Uint8Array(42 + 5);
  const v = new DataView(b.buffer);
  b.set([0x56, 1, 1, 1]);
  v.setBigUint64(4, 7n);
  v.setBigUint64(12, 1_765_000_000_123n);
  b[20] = 5;
  b.set(id, 21);
  b[26] = 11;
  b.set(codec, 27);
  v.setUint32(38, 5);
  b.set([0, 0, 0, 1, 0x67], 42);
  return b;
}

const with_ = (i: number, x: number) => {
  const b = sample();
  b[i] = x;
  return b;
};

describe('video wire format', () => {
  it('reads a frame as the Rust encoder writes it', () => {
    const m = decodeVideoMessage(sample());
    expect(m).toEqual({
      kind: 'frame',
      streamId: 'drv-1',
      sequence: 7,
      captureMs: 1_765_000_000_123,
      keyframe: true,
      codec: 'avc1.42C01F',
      payload: new Uint8Array([0, 0, 0, 1, 0x67]),
    });
    // From an ArrayBuffer too (what a WebSocket with binaryType arraybuffer gives).
    expect(decodeVideoMessage(sample().buffer as ArrayBuffer).kind).toBe('frame');
  });

  it('names what is wrong with a malformed message', () => {
    expect(() => decodeVideoMessage(new Uint8Array())).toThrow('truncated at magic: needs 1 bytes from offset 0, 0 left');
    expect(() => decodeVideoMessage(with_(0, 0x57))).toThrow('bad magic byte 0x57');
    expect(() => decodeVideoMessage(with_(1, 2))).toThrow('unsupported video message version 2');
    expect(() => decodeVideoMessage(with_(2, 9))).toThrow('unknown video message kind 9');
    expect(() => decodeVideoMessage(with_(3, 3))).toThrow('reserved flag bits set: 0x03');
    expect(() => decodeVideoMessage(with_(20, 0))).toThrow('stream id is 0 bytes');
    expect(() => decodeVideoMessage(with_(21, 0xff))).toThrow('stream id is not valid UTF-8');
    expect(() => decodeVideoMessage(with_(26, 33))).toThrow('codec string is 33 bytes');
    expect(() => decodeVideoMessage(with_(27, 0x20))).toThrow('printable ASCII');
    const huge = sample();
    new DataView(huge.buffer).setUint32(38, MAX_PAYLOAD_LEN + 1);
    expect(() => decodeVideoMessage(huge)).toThrow(`payload of ${MAX_PAYLOAD_LEN + 1} bytes is over the limit`);
    const empty = sample().slice(0, 42);
    new DataView(empty.buffer).setUint32(38, 0);
    expect(() => decodeVideoMessage(empty)).toThrow('payload is empty');
    expect(() => decodeVideoMessage(sample().slice(0, 46))).toThrow('truncated at payload: needs 5 bytes from offset 42, 4 left');
    expect(() => decodeVideoMessage(sample().slice(0, 10))).toThrow('truncated at sequence');
    const long = new Uint8Array(48);
    long.set(sample());
    expect(() => decodeVideoMessage(long)).toThrow('1 bytes after the payload');
  });

  it('never throws anything but its own error on random bytes', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 2000; n++) {
      const b = sample();
      // Flip a few bytes and cut at a random length.
      for (let k = 0; k < 3; k++) b[rnd() % b.length] = rnd();
      const cut = b.slice(0, rnd() % (b.length + 1));
      try {
        decodeVideoMessage(cut);
      } catch (e) {
        expect((e as Error).name).toBe('VideoWireError');
      }
    }
  });

  it('writes the keyframe request of docs/protocol.md and reads it back', () => {
    const b = encodeKeyframeRequest('drv-1');
    expect([...b]).toEqual([0x56, 1, 2, 0, 5, 0x64, 0x72, 0x76, 0x2d, 0x31]);
    expect(decodeVideoMessage(b)).toEqual({ kind: 'keyframe_request', streamId: 'drv-1' });
    expect(() => encodeKeyframeRequest('')).toThrow('stream id is 0 bytes');
    const flagged = b.slice();
    flagged[3] = 1;
    expect(() => decodeVideoMessage(flagged)).toThrow('reserved flag bits set: 0x01');
  });
});

describe('tile age', () => {
  it('says how far behind the picture is', () => {
    expect(formatAge(300)).toBe('0.3 s behind');
    expect(formatAge(49)).toBe('0.0 s behind');
    expect(formatAge(-40)).toBe('0.0 s behind');
    expect(formatAge(12_400)).toBe('12 s behind');
    expect(formatAge(600_000)).toBe('10 min behind');
    expect(formatAge(Number.NaN)).toBe('—');
  });
});
