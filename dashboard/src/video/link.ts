// The pit wall's video link: its own WebSocket to the server the dashboard came from (cloud /ws
// or a relay), authenticated like the main one, subscribed to the `video` channel only. Each
// driver's stream goes to a WebCodecs VideoDecoder (optimizeForLatency) that draws into that
// driver's canvas as soon as a frame is decoded. A decoder error (or a first frame that is not a
// keyframe) resets the decoder and asks upstream for a keyframe.

import { decodeVideoMessage, encodeKeyframeRequest, type VideoFrameMsg, VideoWireError } from './wire';

export interface StreamInfo {
  streamId: string;
  /** Capture time of the last frame drawn (unix ms), 0 before the first. */
  lastCaptureMs: number;
  /** When it was drawn (this browser's clock). */
  lastDrawnAt: number;
  framesDrawn: number;
  width: number;
  height: number;
}

/** Whether this browser can decode (WebCodecs needs a secure context: https, or http on localhost). */
export function webCodecsAvailable(): boolean {
  return typeof globalThis.VideoDecoder === 'function' && globalThis.isSecureContext !== false;
}

class Player {
  decoder: VideoDecoder | null = null;
  codec = '';
  waitingForKey = true;
  canvas: HTMLCanvasElement | null = null;
  info: StreamInfo;
  private lastRequest = 0;
  /** Chunk timestamp (the sequence, in µs) → capture time, read back when the frame is drawn. */
  private readonly captures = new Map<number, number>();
  constructor(
    streamId: string,
    private readonly requestKeyframe: (id: string) => void,
    private readonly changed: () => void,
  ) {
    this.info = { streamId, lastCaptureMs: 0, lastDrawnAt: 0, framesDrawn: 0, width: 0, height: 0 };
  }

  private ask(): void {
    const now = Date.now();
    // The servers pass one request a second per stream anyway.
    if (now - this.lastRequest < 1000) return;
    this.lastRequest = now;
    this.requestKeyframe(this.info.streamId);
  }

  private reset(): void {
    try {
      this.decoder?.close();
    } catch {
      // Already closed by its error.
    }
    this.decoder = null;
    this.waitingForKey = true;
  }

  private open(codec: string): VideoDecoder {
    const captures = this.captures;
    captures.clear();
    const d = new VideoDecoder({
      output: (frame) => {
        const canvas = this.canvas;
        if (canvas) {
          if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
            canvas.width = frame.displayWidth;
            canvas.height = frame.displayHeight;
          }
          canvas.getContext('2d')?.drawImage(frame, 0, 0, canvas.width, canvas.height);
          this.info = {
            ...this.info,
            lastCaptureMs: captures.get(frame.timestamp) ?? this.info.lastCaptureMs,
            lastDrawnAt: Date.now(),
            framesDrawn: this.info.framesDrawn + 1,
            width: frame.displayWidth,
            height: frame.displayHeight,
          };
          canvas.dataset.frames = String(this.info.framesDrawn);
        }
        captures.delete(frame.timestamp);
        frame.close();
        this.changed();
      },
      error: () => {
        this.reset();
        this.ask();
      },
    });
    d.configure({ codec, optimizeForLatency: true, hardwareAcceleration: 'no-preference' });
    this.codec = codec;
    return d;
  }

  push(f: VideoFrameMsg): void {
    if (this.decoder && this.codec !== f.codec) this.reset();
    if (this.waitingForKey) {
      if (!f.keyframe) {
        this.ask();
        return;
      }
      this.waitingForKey = false;
    }
    if (!this.decoder || this.decoder.state === 'closed') this.decoder = this.open(f.codec);
    // A decoder that falls behind (a slow tab) starts again at the next keyframe rather than
    // showing ever older pictures.
    if (this.decoder.decodeQueueSize > 10 && !f.keyframe) {
      this.reset();
      return;
    }
    const ts = f.sequence * 1000;
    this.captures.set(ts, f.captureMs);
    // Bounded: entries of frames the decoder never output (a reset) must not pile up.
    if (this.captures.size > 120) this.captures.delete(this.captures.keys().next().value as number);
    try {
      this.decoder.decode(new EncodedVideoChunk({ type: f.keyframe ? 'key' : 'delta', timestamp: ts, data: f.payload }));
    } catch {
      this.reset();
      this.ask();
    }
  }

  close(): void {
    this.reset();
  }
}

export interface VideoLinkOptions {
  url: string;
  getToken: () => string | null;
  /** A stream appeared or drew a frame. */
  onChange: (streams: StreamInfo[]) => void;
  onStatus?: (status: string) => void;
  WebSocketImpl?: typeof WebSocket;
}

export class VideoLink {
  private ws: WebSocket | null = null;
  private readonly players = new Map<string, Player>();
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private notifyQueued = false;
  private readonly canvases = new Map<string, HTMLCanvasElement>();

  constructor(private readonly o: VideoLinkOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.ws?.close();
    this.ws = null;
    for (const p of this.players.values()) p.close();
    this.players.clear();
  }

  /** The canvas a stream draws into (set by its tile; `null` when the tile goes). */
  attach(streamId: string, canvas: HTMLCanvasElement | null): void {
    if (canvas) this.canvases.set(streamId, canvas);
    else this.canvases.delete(streamId);
    const p = this.players.get(streamId);
    if (p) p.canvas = canvas;
  }

  streams(): StreamInfo[] {
    return [...this.players.values()].map((p) => p.info).sort((a, b) => a.streamId.localeCompare(b.streamId));
  }

  private changed(): void {
    // Coalesced: React hears about frames at most once per animation frame.
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    const run = () => {
      this.notifyQueued = false;
      this.o.onChange(this.streams());
    };
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
    else setTimeout(run, 16);
  }

  private send(bytes: Uint8Array<ArrayBuffer>): void {
    if (this.ws?.readyState === 1) this.ws.send(bytes);
  }

  private connect(): void {
    const WS = this.o.WebSocketImpl ?? WebSocket;
    const ws = new WS(this.o.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.o.onStatus?.('connecting');
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') {
        let msg: { type?: string; data?: Record<string, unknown> };
        try {
          msg = JSON.parse(ev.data) as typeof msg;
        } catch {
          return;
        }
        if (msg.type === 'connection_established') {
          ws.send(JSON.stringify({ type: 'authenticate', data: { token: this.o.getToken() ?? '', clientType: 'dashboard', version: '1.0' } }));
        } else if (msg.type === 'authentication_result') {
          if (msg.data?.success) {
            ws.send(JSON.stringify({ type: 'subscribe', data: { channels: ['video'], driverIds: [] } }));
            this.o.onStatus?.('live');
          } else this.o.onStatus?.(`refused: ${String(msg.data?.reason ?? 'authentication failed')}`);
        } else if (msg.type === 'ping') {
          ws.send(JSON.stringify({ type: 'pong', data: msg.data }));
        }
        return;
      }
      let m;
      try {
        m = decodeVideoMessage(ev.data as ArrayBuffer);
      } catch (e) {
        if (e instanceof VideoWireError) console.warn(`video message dropped: ${e.message}`);
        return;
      }
      if (m.kind !== 'frame') return;
      let p = this.players.get(m.streamId);
      if (!p) {
        p = new Player(m.streamId, (id) => this.send(encodeKeyframeRequest(id)), () => this.changed());
        p.canvas = this.canvases.get(m.streamId) ?? null;
        this.players.set(m.streamId, p);
        this.changed();
      }
      p.push(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const p of this.players.values()) p.close();
      if (this.stopped) return;
      this.o.onStatus?.('reconnecting');
      this.retry = setTimeout(() => this.connect(), 1000);
    };
  }
}
