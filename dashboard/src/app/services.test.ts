import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthManager } from '../api/auth';
import { DEFAULT_CONFIG } from '../api/endpoints';
import { coaching, handoff, message } from '../test/factories';
import { fakeJwt } from '../test/jwt';
import { asWS, MockSocket } from '../test/mockSocket';
import { startServices } from './services';

afterEach(() => MockSocket.reset());

function auth(routes: Record<string, unknown>) {
  const calls: string[] = [];
  const fetch = vi.fn(async (url: string) => {
    calls.push(url);
    return url in routes ? new Response(JSON.stringify(routes[url]), { status: 200 }) : new Response('{}', { status: 404 });
  });
  const a = new AuthManager({ storage: null, fetch: fetch as unknown as typeof globalThis.fetch });
  a.loginWithToken(fakeJwt({ sub: 'eng-1', role: 'engineer', exp: Math.floor(Date.now() / 1000) + 3600 }));
  return { a, calls };
}

describe('startServices', () => {
  it('on every (re)connection loads message and handoff history over REST, with my read flags', async () => {
    const { a, calls } = auth({
      '/api/messages': [message({ id: 'm2', senderId: 'drv-1', read: true, sentAt: '2026-11-26T16:06:00Z' }), message({ id: 'm1', senderId: 'drv-1' })],
      '/api/handoffs': [handoff({ status: 'accepted' })],
      '/api/drivers': [],
    });
    const svc = startServices({ ...DEFAULT_CONFIG }, a, { WebSocketImpl: asWS, clientOptions: { url: 'ws://t/ws' } });
    MockSocket.last().accept();
    await vi.waitFor(() => expect(svc.store.getState().messages).toHaveLength(2));
    const s = svc.store.getState();
    expect(s.messages.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(s.receipts.m2).toEqual({ 'eng-1': '2026-11-26T16:06:00Z' });
    expect(s.handoffs['ho-1']!.req.status).toBe('accepted');
    MockSocket.last().drop(1006);
    svc.client.retryNow();
    MockSocket.last().accept();
    await vi.waitFor(() => expect(calls.filter((c) => c === '/api/messages')).toHaveLength(2));
    svc.dispose();
    expect(svc.client.snapshot.state).toBe('stopped');
  });

  it('loads the coaching said before it opened (GET /api/coaching, newest first) once, however often it reconnects', async () => {
    const { a, calls } = auth({
      '/api/messages': [],
      '/api/handoffs': [],
      '/api/drivers': [],
      '/api/coaching?limit=200': [
        { id: 'cch-2', lap: 2, coaching: coaching({ lap: 2, timestamp: '2026-11-26T16:04:00Z', feedback: 'Lap 2' }) },
        { id: 'cch-1', lap: 1, coaching: coaching({ lap: 1, timestamp: '2026-11-26T16:03:00Z', feedback: 'Lap 1' }) },
        { id: 'cch-0', lap: 0, coaching: null },
      ],
    });
    const svc = startServices({ ...DEFAULT_CONFIG }, a, { WebSocketImpl: asWS, clientOptions: { url: 'ws://t/ws' } });
    MockSocket.last().accept();
    await vi.waitFor(() => expect(svc.store.getState().coaching).toHaveLength(2));
    expect(svc.store.getState().coaching.map((c) => c.feedback)).toEqual(['Lap 2', 'Lap 1']);
    MockSocket.last().drop(1006);
    svc.client.retryNow();
    MockSocket.last().accept();
    await vi.waitFor(() => expect(calls.filter((c) => c === '/api/coaching?limit=200')).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 10));
    expect(svc.store.getState().coaching).toHaveLength(2);
    svc.dispose();
  });

  it('a relay (no REST) asks for nothing', async () => {
    const { a, calls } = auth({});
    const svc = startServices({ ...DEFAULT_CONFIG, restApi: false, wsPath: '/' }, a, { WebSocketImpl: asWS });
    MockSocket.last().accept();
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([]);
    expect(svc.store.getState().profilesAvailable).toBe(false);
    svc.dispose();
  });
});
