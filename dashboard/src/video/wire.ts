// The binary video messages of docs/protocol.md ("Video"), as crates/video/src/wire.rs writes
// them: big-endian, magic 0x56, version 1; kind 1 = one H.264 frame (Annex-B), kind 2 = a
// keyframe request. The decoder mirrors the Rust one: every malformed message is one precise
// error, never an exception from a DataView read past the end.

export const MAGIC = 0x56;
export const VERSION = 1;
export const KIND_FRAME = 1;
export const KIND_KEYFRAME_REQUEST = 2;
export const FLAG_KEYFRAME = 0x01;
export const MAX_STREAM_ID_LEN = 64;
export const MAX_CODEC_LEN = 32;
export const MAX_PAYLOAD_LEN = 1 << 20;

export interface VideoFrameMsg {
  kind: 'frame';
  streamId: string;
  /** +1 per encoded frame of the stream; a gap means frames were dropped on the way. */
  sequence: number;
  /** Capture time, unix ms (the driver PC's clock). */
  captureMs: number;
  keyframe: boolean;
  /** WebCodecs codec string, e.g. avc1.42C01F. */
  codec: string;
  /** One access unit, Annex-B. */
  payload: Uint8Array;
}

export interface KeyframeRequestMsg {
  kind: 'keyframe_request';
  streamId: string;
}

export type VideoMsg = VideoFrameMsg | KeyframeRequestMsg;

export class VideoWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VideoWireError';
  }
}

class Reader {
  at = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number, field: string): void {
    const left = this.bytes.byteLength - this.at;
    if (n > left) throw new VideoWireError(`truncated at ${field}: needs ${n} bytes from offset ${this.at}, ${left} left`);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.at++);
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }
  u64(field: string): number {
    this.need(8, field);
    const v = this.view.getBigUint64(this.at);
    this.at += 8;
    // Sequence numbers and unix ms stay far below 2^53.
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new VideoWireError(`${field} ${v} is beyond what this viewer counts`);
    return Number(v);
  }
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  streamId(): string {
    const len = this.u8('stream id length');
    if (len === 0 || len > MAX_STREAM_ID_LEN) throw new VideoWireError(`stream id is ${len} bytes (1–${MAX_STREAM_ID_LEN})`);
    const raw = this.take(len, 'stream id');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new VideoWireError('stream id is not valid UTF-8');
    }
  }
  finish(): void {
    const extra = this.bytes.byteLength - this.at;
    if (extra !== 0) throw new VideoWireError(`${extra} bytes after the payload`);
  }
}

/** Reads any video message; throws a [VideoWireError] naming what is wrong. */
export function decodeVideoMessage(data: ArrayBuffer | Uint8Array): VideoMsg {
  const r = new Reader(data instanceof Uint8Array ? data : new Uint8Array(data));
  const magic = r.u8('magic');
  if (magic !== MAGIC) throw new VideoWireError(`bad magic byte 0x${magic.toString(16).padStart(2, '0')} (expected 0x56)`);
  const version = r.u8('version');
  if (version !== VERSION) throw new VideoWireError(`unsupported video message version ${version}`);
  const kind = r.u8('kind');
  const flags = r.u8('flags');
  if (kind === KIND_FRAME) {
    if ((flags & ~FLAG_KEYFRAME) !== 0) throw new VideoWireError(`reserved flag bits set: 0x${flags.toString(16).padStart(2, '0')}`);
    const sequence = r.u64('sequence');
    const captureMs = r.u64('capture time');
    const streamId = r.streamId();
    const codecLen = r.u8('codec length');
    if (codecLen === 0 || codecLen > MAX_CODEC_LEN) throw new VideoWireError(`codec string is ${codecLen} bytes (1–${MAX_CODEC_LEN})`);
    const codecBytes = r.take(codecLen, 'codec');
    if (!codecBytes.every((b) => b > 0x20 && b < 0x7f)) throw new VideoWireError('codec string has a character other than printable ASCII');
    const codec = String.fromCharCode(...codecBytes);
    const len = r.u32('payload length');
    if (len === 0) throw new VideoWireError('payload is empty');
    if (len > MAX_PAYLOAD_LEN) throw new VideoWireError(`payload of ${len} bytes is over the limit of ${MAX_PAYLOAD_LEN}`);
    const payload = r.take(len, 'payload');
    r.finish();
    return { kind: 'frame', streamId, sequence, captureMs, keyframe: (flags & FLAG_KEYFRAME) !== 0, codec, payload };
  }
  if (kind === KIND_KEYFRAME_REQUEST) {
    if (flags !== 0) throw new VideoWireError(`reserved flag bits set: 0x${flags.toString(16).padStart(2, '0')}`);
    const streamId = r.streamId();
    r.finish();
    return { kind: 'keyframe_request', streamId };
  }
  throw new VideoWireError(`unknown video message kind ${kind}`);
}

/** The keyframe request for `streamId` (sent when a decoder fails or a viewer starts mid-chain). */
export function encodeKeyframeRequest(streamId: string): Uint8Array<ArrayBuffer> {
  const id = new TextEncoder().encode(streamId);
  if (id.length === 0 || id.length > MAX_STREAM_ID_LEN) throw new VideoWireError(`stream id is ${id.length} bytes (1–${MAX_STREAM_ID_LEN})`);
  const out = new Uint8Array(new ArrayBuffer(5 + id.length));
  out.set([MAGIC, VERSION, KIND_KEYFRAME_REQUEST, 0, id.length]);
  out.set(id, 5);
  return out;
}

/** "0.3 s behind" for a frame captured `ageMs` ago; clocks a little apart can make it negative. */
export function formatAge(ageMs: number): string {
  if (!Number.isFinite(ageMs)) return '—';
  const s = Math.max(0, ageMs) / 1000;
  if (s < 10) return `${s.toFixed(1)} s behind`;
  if (s < 120) return `${Math.round(s)} s behind`;
  return `${Math.round(s / 60)} min behind`;
}
