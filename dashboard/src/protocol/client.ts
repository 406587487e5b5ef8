// The dashboard's WebSocket client for the PitBox protocol (docs/protocol.md):
// connect → connection_established → authenticate → authentication_result → subscribe.
// Reconnects with exponential backoff and jitter, re-authenticates and re-subscribes, pings to
// measure round trip and detect a dead link, queues user actions while disconnected, and hands
// received messages to listeners in throttled batches (one store update per flush, not per frame).
import { parseFrame } from './parse';
import { PROTOCOL_VERSION } from './types';
import type { ClientMessage, ServerMessage, Subscribe, UserRole } from './types';

export type ConnState =
  | 'idle' // not started
  | 'connecting' // socket opening
  | 'authenticating' // waiting for authentication_result
  | 'live' // authenticated and subscribed
  | 'reconnecting' // lost, a retry is scheduled
  | 'offline' // the browser says it has no network, or the server is unreachable for long
  | 'unauthorized' // the token was refused and could not be refreshed
  | 'stopped'; // stop() was called

export interface ConnSnapshot {
  state: ConnState;
  /** Attempts since the last successful authentication. */
  attempts: number;
  /** Epoch ms of the last frame received (any type). */
  lastFrameAt: number | null;
  /** Epoch ms when the next retry fires (reconnecting/offline). */
  nextRetryAt: number | null;
  rttMs: number | null;
  serverId: string | null;
  serverVersion: string | null;
  userId: string | null;
  role: UserRole | null;
  teamId: string | null;
  /** Human reason of the last failure (close reason, auth failure, protocol error). */
  reason: string | null;
  /** Frames that failed to decode. */
  badFrames: number;
  /** User actions waiting for the connection. */
  queued: number;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** 0–1: a delay is reduced by up to this share at random (spreads a team's reconnects). */
  jitter: number;
}

export interface ClientOptions {
  url: string;
  /** Current access token, or null when signed out. */
  getToken: () => string | null;
  /** Called when the server refuses the token; resolves true when a new token is available. */
  onAuthRejected?: (reason: string) => Promise<boolean>;
  WebSocketImpl?: typeof WebSocket;
  backoff?: Partial<BackoffOptions>;
  pingIntervalMs?: number;
  /** A live link with no frame for this long is considered dead and reopened. */
  staleAfterMs?: number;
  /** Throttle: received messages are delivered at most this often. */
  flushIntervalMs?: number;
  /** After this many failed attempts the state says offline instead of reconnecting. */
  offlineAfterAttempts?: number;
  random?: () => number;
  now?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000, factor: 2, jitter: 0.3 };
const OUTBOX_LIMIT = 100;

/** Delay before retry number `attempt` (1-based). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number): number {
  const raw = Math.min(o.maxMs, o.baseMs * Math.pow(o.factor, Math.max(0, attempt - 1)));
  return Math.round(raw * (1 - o.jitter * random()));
}

type Listener<T> = (v: T) => void;

export class ProtocolClient {
  private readonly o: Required<Omit<ClientOptions, 'onAuthRejected' | 'backoff' | 'WebSocketImpl'>> & {
    backoff: BackoffOptions;
    onAuthRejected?: ClientOptions['onAuthRejected'];
    WebSocketImpl: typeof WebSocket;
  };
  private ws: WebSocket | null = null;
  private snap: ConnSnapshot = {
    state: 'idle',
    attempts: 0,
    lastFrameAt: null,
    nextRetryAt: null,
    rttMs: null,
    serverId: null,
    serverVersion: null,
    userId: null,
    role: null,
    teamId: null,
    reason: null,
    badFrames: 0,
    queued: 0,
  };
  private subscription: Subscribe = { driverIds: [], channels: [], maxRateHz: 20 };
  private pending: ServerMessage[] = [];
  private outbox: ClientMessage[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pingId = 0;
  private pingSent = new Map<number, number>();
  private msgListeners = new Set<Listener<ServerMessage[]>>();
  private stateListeners = new Set<Listener<ConnSnapshot>>();
  private started = false;
  private readonly onOnline = () => {
    if (this.started && (this.snap.state === 'offline' || this.snap.state === 'reconnecting')) this.retryNow();
  };
  private readonly onOffline = () => {
    if (this.started && this.snap.state !== 'unauthorized') {
      this.update({ state: 'offline', reason: 'the browser reports no network' });
    }
  };

  constructor(opts: ClientOptions) {
    const WS = opts.WebSocketImpl ?? globalThis.WebSocket;
    this.o = {
      url: opts.url,
      getToken: opts.getToken,
      onAuthRejected: opts.onAuthRejected,
      WebSocketImpl: WS,
      backoff: { ...DEFAULT_BACKOFF, ...opts.backoff },
      pingIntervalMs: opts.pingIntervalMs ?? 10_000,
      staleAfterMs: opts.staleAfterMs ?? 30_000,
      flushIntervalMs: opts.flushIntervalMs ?? 50,
      offlineAfterAttempts: opts.offlineAfterAttempts ?? 6,
      random: opts.random ?? Math.random,
      now: opts.now ?? Date.now,
    };
  }

  get snapshot(): ConnSnapshot {
    return this.snap;
  }

  onMessages(l: Listener<ServerMessage[]>): () => void {
    this.msgListeners.add(l);
    return () => this.msgListeners.delete(l);
  }

  onState(l: Listener<ConnSnapshot>): () => void {
    this.stateListeners.add(l);
    l(this.snap);
    return () => this.stateListeners.delete(l);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onOnline);
      window.addEventListener('offline', this.onOffline);
    }
    this.open();
  }

  /** Closes the link for good and releases every timer and listener. */
  stop(): void {
    this.started = false;
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('offline', this.onOffline);
    }
    this.clearTimers();
    this.flush();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000, 'dashboard closed');
      } catch {
        /* already closed */
      }
    }
    this.update({ state: 'stopped', nextRetryAt: null });
  }

  /** Sets what to receive; sent now when live and again after every reconnect. */
  setSubscription(sub: Subscribe): void {
    this.subscription = sub;
    if (this.snap.state === 'live') this.raw({ type: 'subscribe', data: sub });
  }

  get currentSubscription(): Subscribe {
    return this.subscription;
  }

  /** Sends a user action; queued (in order) while the link is down. */
  send(msg: ClientMessage): 'sent' | 'queued' {
    if (this.snap.state === 'live' && this.raw(msg)) return 'sent';
    this.outbox.push(msg);
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.shift();
    this.update({ queued: this.outbox.length });
    return 'queued';
  }

  /** Retry at once (user pressed "reconnect" or the network came back). */
  retryNow(): void {
    if (!this.started) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.ws) this.open();
  }

  // --- internals -------------------------------------------------------------------------------

  private update(p: Partial<ConnSnapshot>): void {
    this.snap = { ...this.snap, ...p };
    for (const l of this.stateListeners) l(this.snap);
  }

  private open(): void {
    if (!this.started) return;
    const token = this.o.getToken();
    if (!token) {
      this.update({ state: 'unauthorized', reason: 'not signed in' });
      return;
    }
    let ws: WebSocket;
    try {
      ws = new this.o.WebSocketImpl(this.o.url);
    } catch (e) {
      this.scheduleRetry(`cannot open ${this.o.url}: ${String(e)}`);
      return;
    }
    this.ws = ws;
    this.update({ state: 'connecting', nextRetryAt: null });
    ws.onmessage = (ev: MessageEvent) => this.onFrame(ws, ev.data);
    ws.onclose = (ev: CloseEvent) => this.onClose(ws, ev.code, ev.reason);
    ws.onerror = () => {
      /* onclose follows and carries the code */
    };
  }

  private detach(ws: WebSocket): void {
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    ws.onopen = null;
  }

  private raw(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  private onFrame(ws: WebSocket, data: unknown): void {
    if (ws !== this.ws) return;
    const now = this.o.now();
    this.snap.lastFrameAt = now; // cheap: listeners see it with the next update
    if (typeof data !== 'string') {
      this.update({ badFrames: this.snap.badFrames + 1 });
      return;
    }
    const r = parseFrame(data);
    if (!r.ok) {
      this.update({ badFrames: this.snap.badFrames + 1, reason: `bad frame: ${r.error}` });
      return;
    }
    const m = r.msg;
    switch (m.type) {
      case 'connection_established': {
        const major = m.data.version.split('.')[0];
        if (major !== PROTOCOL_VERSION.split('.')[0]) {
          this.fail(`the server speaks protocol ${m.data.version}, this dashboard ${PROTOCOL_VERSION}`);
          return;
        }
        this.update({ state: 'authenticating', serverId: m.data.serverId, serverVersion: m.data.version });
        const token = this.o.getToken();
        if (!token) {
          this.fail('not signed in', 'unauthorized');
          return;
        }
        this.raw({ type: 'authenticate', data: { token, clientType: 'dashboard', version: PROTOCOL_VERSION } });
        return;
      }
      case 'authentication_result': {
        if (!m.data.success) {
          void this.authRejected(m.data.reason ?? 'authentication failed');
          return;
        }
        this.update({
          state: 'live',
          attempts: 0,
          reason: null,
          userId: m.data.userId ?? null,
          role: m.data.role ?? null,
          teamId: m.data.teamId ?? null,
        });
        this.raw({ type: 'subscribe', data: this.subscription });
        const out = this.outbox;
        this.outbox = [];
        for (const msg of out) this.raw(msg);
        this.update({ queued: 0 });
        this.startPing();
        return;
      }
      case 'ping':
        this.raw({ type: 'pong', data: { id: m.data.id, timestamp: new Date(now).toISOString() } });
        return;
      case 'pong': {
        const sent = this.pingSent.get(m.data.id);
        if (sent !== undefined) {
          this.pingSent.delete(m.data.id);
          this.update({ rttMs: now - sent });
        }
        return;
      }
      case 'error':
        if (m.data.code === 'authentication_failed') {
          void this.authRejected(m.data.message);
          return;
        }
        break;
      default:
        break;
    }
    this.pending.push(m);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.o.flushIntervalMs);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    for (const l of this.msgListeners) l(batch);
  }

  private startPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      const now = this.o.now();
      if (this.snap.lastFrameAt !== null && now - this.snap.lastFrameAt > this.o.staleAfterMs) {
        // Nothing heard for too long: the link is dead even if TCP has not noticed.
        const ws = this.ws;
        if (ws) {
          this.detach(ws);
          try {
            ws.close(4000, 'stale');
          } catch {
            /* ignore */
          }
          this.onClose(ws, 4000, 'no data from the server');
        }
        return;
      }
      this.pingId += 1;
      this.pingSent.set(this.pingId, now);
      if (this.pingSent.size > 10) {
        const first = this.pingSent.keys().next().value;
        if (first !== undefined) this.pingSent.delete(first);
      }
      this.raw({ type: 'ping', data: { id: this.pingId, timestamp: new Date(now).toISOString() } });
    }, this.o.pingIntervalMs);
  }

  private async authRejected(reason: string): Promise<void> {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000, 'auth failed');
      } catch {
        /* ignore */
      }
    }
    this.clearTimers();
    const retry = this.o.onAuthRejected ? await this.o.onAuthRejected(reason).catch(() => false) : false;
    if (!this.started) return;
    if (retry) {
      this.update({ state: 'reconnecting', reason: `token refreshed after: ${reason}` });
      this.open();
    } else {
      this.update({ state: 'unauthorized', reason });
    }
  }

  private fail(reason: string, state: ConnState = 'offline'): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000);
      } catch {
        /* ignore */
      }
    }
    this.clearTimers();
    this.started = state !== 'unauthorized' ? this.started : false;
    this.update({ state, reason, nextRetryAt: null });
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.detach(ws);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.flush();
    if (!this.started) return;
    if (code === 4001) {
      void this.authRejected(reason || 'authentication failed');
      return;
    }
    if (code === 4003) {
      this.fail(reason || 'unsupported protocol version');
      return;
    }
    this.scheduleRetry(reason || closeText(code));
  }

  private scheduleRetry(reason: string): void {
    const attempts = this.snap.attempts + 1;
    const delay = backoffDelay(attempts, this.o.backoff, this.o.random);
    const browserOffline = typeof navigator !== 'undefined' && navigator.onLine === false;
    const state: ConnState = browserOffline || attempts >= this.o.offlineAfterAttempts ? 'offline' : 'reconnecting';
    this.update({ state, attempts, reason, nextRetryAt: this.o.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }
}

export function closeText(code: number): string {
  switch (code) {
    case 1000:
      return 'closed by the server';
    case 1001:
      return 'the server is going away';
    case 1006:
      return 'connection lost';
    case 1009:
      return 'frame too large';
    case 1011:
      return 'server error';
    case 4002:
      return 'authentication timed out';
    case 4008:
      return 'rate limited by the server';
    default:
      return `closed (${code})`;
  }
}
