import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asWS, MockSocket } from '../test/mockSocket';
import { backoffDelay, DEFAULT_BACKOFF, ProtocolClient, type ClientOptions } from './client';
import type { ServerMessage } from './types';
import { telemetry } from '../test/factories';

function make(o: Partial<ClientOptions> = {}) {
  const c = new ProtocolClient({ url: 'ws://test/ws', getToken: () => 'tok-1', WebSocketImpl: asWS, random: () => 0, ...o });
  const batches: ServerMessage[][] = [];
  c.onMessages((b) => batches.push(b));
  return { c, batches };
}

beforeEach(() => {
  vi.useFakeTimers();
  MockSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ProtocolClient handshake', () => {
  it('authenticates after the greeting, then subscribes with the current subscription', () => {
    const { c } = make();
    c.setSubscription({ driverIds: ['drv-1'], channels: ['telemetry'], maxRateHz: 10 });
    c.start();
    const ws = MockSocket.last();
    expect(c.snapshot.state).toBe('connecting');
    ws.open();
    expect(ws.sent).toEqual([]);
    ws.frame('connection_established', { serverId: 'relay-1', timestamp: 'x', version: '1.2' });
    expect(c.snapshot.state).toBe('authenticating');
    expect(ws.sent[0]).toEqual({ type: 'authenticate', data: { token: 'tok-1', clientType: 'dashboard', version: '1.0' } });
    ws.frame('authentication_result', { success: true, userId: 'eng-1', role: 'engineer', teamId: 'team-apex' });
    expect(c.snapshot).toMatchObject({ state: 'live', userId: 'eng-1', role: 'engineer', teamId: 'team-apex', serverId: 'relay-1' });
    expect(ws.sent[1]).toEqual({ type: 'subscribe', data: { driverIds: ['drv-1'], channels: ['telemetry'], maxRateHz: 10 } });
    c.stop();
  });

  it('refuses a server of another major version', () => {
    const { c } = make();
    c.start();
    const ws = MockSocket.last();
    ws.open();
    ws.frame('connection_established', { serverId: 's', timestamp: 'x', version: '2.0' });
    expect(c.snapshot.state).toBe('offline');
    expect(c.snapshot.reason).toMatch(/protocol 2.0/);
    expect(ws.types()).not.toContain('authenticate');
    c.stop();
  });

  it('without a token it does not connect', () => {
    const { c } = make({ getToken: () => null });
    c.start();
    expect(MockSocket.instances).toHaveLength(0);
    expect(c.snapshot.state).toBe('unauthorized');
    c.stop();
  });
});

describe('throttled dispatch', () => {
  it('delivers many frames as one batch per flush interval, in order', () => {
    const { c, batches } = make({ flushIntervalMs: 50 });
    c.start();
    const ws = MockSocket.last();
    ws.accept();
    for (let i = 0; i < 30; i++) ws.frame('telemetry_update', telemetry({ speed: i }));
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(50);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((m) => (m.data as { speed: number }).speed)).toEqual([...Array(30).keys()]);
    c.stop();
  });

  it('counts bad frames without delivering them', () => {
    const { c, batches } = make();
    c.start();
    const ws = MockSocket.last();
    ws.accept();
    ws.raw('{nope');
    ws.frame('who_knows', {});
    ws.frame('telemetry_update', { driverId: 'x' });
    vi.advanceTimersByTime(100);
    expect(batches).toHaveLength(0);
    expect(c.snapshot.badFrames).toBe(3);
    c.stop();
  });
});

describe('reconnect', () => {
  it('backs off exponentially up to the cap, with jitter reducing the delay', () => {
    const o = DEFAULT_BACKOFF;
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, o, () => 0))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect(backoffDelay(1, o, () => 1)).toBe(350);
  });

  it('reconnects after a drop, re-authenticates and re-subscribes with the latest subscription', () => {
    const { c } = make();
    c.start();
    MockSocket.last().accept();
    c.setSubscription({ driverIds: [], channels: ['messages'], maxRateHz: 5 });
    MockSocket.last().drop(1006);
    expect(c.snapshot.state).toBe('reconnecting');
    expect(c.snapshot.attempts).toBe(1);
    expect(c.snapshot.reason).toBe('connection lost');
    expect(MockSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(499);
    expect(MockSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(MockSocket.instances).toHaveLength(2);
    const ws2 = MockSocket.last();
    ws2.accept();
    expect(ws2.types()).toEqual(['authenticate', 'subscribe']);
    expect(ws2.sent[1]!.data).toEqual({ driverIds: [], channels: ['messages'], maxRateHz: 5 });
    expect(c.snapshot.state).toBe('live');
    expect(c.snapshot.attempts).toBe(0);
    c.stop();
  });

  it('says offline after repeated failures and keeps retrying at the capped delay', () => {
    const { c } = make({ offlineAfterAttempts: 3 });
    c.start();
    for (let i = 1; i <= 5; i++) {
      MockSocket.last().drop(1006);
      expect(c.snapshot.state).toBe(i >= 3 ? 'offline' : 'reconnecting');
      vi.advanceTimersByTime(15_000);
    }
    expect(MockSocket.instances).toHaveLength(6);
    c.stop();
  });

  it('retryNow skips the wait', () => {
    const { c } = make();
    c.start();
    MockSocket.last().drop(1006);
    c.retryNow();
    expect(MockSocket.instances).toHaveLength(2);
    c.stop();
  });

  it('queues user actions while down and sends them in order once live', () => {
    const { c } = make();
    c.start();
    MockSocket.last().drop(1006);
    const m = { type: 'message_read' as const, data: { messageId: 'm1', readerId: 'eng-1', readAt: 'x' } };
    expect(c.send(m)).toBe('queued');
    expect(c.send({ ...m, data: { ...m.data, messageId: 'm2' } })).toBe('queued');
    expect(c.snapshot.queued).toBe(2);
    vi.advanceTimersByTime(500);
    MockSocket.last().accept();
    expect(MockSocket.last().types()).toEqual(['authenticate', 'subscribe', 'message_read', 'message_read']);
    expect(c.snapshot.queued).toBe(0);
    expect(c.send(m)).toBe('sent');
    c.stop();
  });

  it('closes a silent link after staleAfterMs and reconnects', () => {
    const now = { t: 0 };
    const { c } = make({ pingIntervalMs: 1000, staleAfterMs: 3000, now: () => now.t });
    c.start();
    const ws = MockSocket.last();
    ws.accept();
    now.t = 1000;
    vi.advanceTimersByTime(1000);
    expect(ws.types()).toContain('ping');
    now.t = 4000;
    vi.advanceTimersByTime(1000);
    expect(ws.closedWith?.code).toBe(4000);
    expect(c.snapshot.state).toBe('reconnecting');
    expect(c.snapshot.reason).toBe('no data from the server');
    c.stop();
  });

  it('measures round trip from ping/pong and answers server pings', () => {
    const now = { t: 0 };
    const { c } = make({ pingIntervalMs: 1000, now: () => now.t });
    c.start();
    const ws = MockSocket.last();
    ws.accept();
    now.t = 1000;
    vi.advanceTimersByTime(1000);
    const ping = ws.sent.find((m) => m.type === 'ping')!;
    now.t = 1042;
    ws.frame('pong', { id: ping.data.id, timestamp: 'x' });
    expect(c.snapshot.rttMs).toBe(42);
    ws.frame('ping', { id: 9, timestamp: 'x' });
    expect(ws.sent[ws.sent.length - 1]).toMatchObject({ type: 'pong', data: { id: 9 } });
    c.stop();
  });
});

describe('authentication failures', () => {
  it('a refused token asks for a refresh and reconnects with the new one', async () => {
    let token = 'old';
    const onAuthRejected = vi.fn(async () => {
      token = 'new';
      return true;
    });
    const { c } = make({ getToken: () => token, onAuthRejected });
    c.start();
    const ws = MockSocket.last();
    ws.open();
    ws.frame('connection_established', { serverId: 's', timestamp: 'x', version: '1.0' });
    ws.frame('authentication_result', { success: false, reason: 'token expired' });
    await vi.waitFor(() => expect(MockSocket.instances).toHaveLength(2));
    expect(onAuthRejected).toHaveBeenCalledWith('token expired');
    const ws2 = MockSocket.last();
    ws2.open();
    ws2.frame('connection_established', { serverId: 's', timestamp: 'x', version: '1.0' });
    expect(ws2.sent[0]!.data.token).toBe('new');
    c.stop();
  });

  it('close code 4001 without a refresh ends in unauthorized with the reason', async () => {
    const { c } = make({ onAuthRejected: async () => false });
    c.start();
    MockSocket.last().accept();
    MockSocket.last().drop(4001, 'token revoked');
    await vi.waitFor(() => expect(c.snapshot.state).toBe('unauthorized'));
    expect(c.snapshot.reason).toBe('token revoked');
    vi.advanceTimersByTime(60_000);
    expect(MockSocket.instances).toHaveLength(1);
    c.stop();
  });
});

describe('cleanup', () => {
  it('stop() closes the socket, clears every timer and ignores late events', () => {
    const { c, batches } = make();
    c.start();
    const ws = MockSocket.last();
    ws.accept();
    ws.frame('telemetry_update', telemetry());
    c.stop();
    expect(batches).toHaveLength(1); // pending frames flushed on stop
    expect(ws.closedWith?.code).toBe(1000);
    expect(vi.getTimerCount()).toBe(0);
    ws.drop(1006);
    vi.advanceTimersByTime(60_000);
    expect(MockSocket.instances).toHaveLength(1);
    expect(c.snapshot.state).toBe('stopped');
  });

  it('listeners unsubscribe', () => {
    const { c } = make();
    const seen: string[] = [];
    const off = c.onState((s) => seen.push(s.state));
    c.start();
    off();
    MockSocket.last().accept();
    expect(seen).toEqual(['idle', 'connecting']);
    c.stop();
  });
});
