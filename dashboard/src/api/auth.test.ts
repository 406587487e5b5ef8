import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeJwt } from '../test/jwt';
import { AuthManager, decodeJwt, waitText } from './auth';

type Call = { url: string; body: Record<string, unknown> | null; auth: string | null };

function server(handlers: Record<string, (body: Record<string, unknown> | null, n: number) => [number, unknown]>) {
  const calls: Call[] = [];
  const counts: Record<string, number> = {};
  const f = vi.fn(async (url: string, init: RequestInit = {}) => {
    const body = init.body ? (JSON.parse(init.body as string) as Record<string, unknown>) : null;
    const h = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url, body, auth: h.authorization ?? null });
    counts[url] = (counts[url] ?? 0) + 1;
    const handler = handlers[url];
    if (!handler) return new Response('{}', { status: 404 });
    const [status, v] = handler(body, counts[url]!);
    return new Response(status === 204 ? null : JSON.stringify(v), { status });
  });
  return { f: f as unknown as typeof fetch, calls };
}

const user = { id: 'eng-1', username: 'sam', role: 'engineer' };
const pair = (n: number, expiresIn = 3600) => ({ token: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn, user });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('AuthManager', () => {
  it('logs in, saves the session and refreshes a minute before expiry, rotating the refresh token', async () => {
    let issued = 1;
    const s = server({
      '/api/auth/login': () => [200, pair(1, 600)],
      '/api/auth/refresh': (b) => {
        expect(b?.refreshToken).toBe(`refresh-${issued}`);
        issued += 1;
        return [200, pair(issued, 600)];
      },
    });
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v), removeItem: (k: string) => void store.delete(k) };
    const a = new AuthManager({ fetch: s.f, storage });
    await a.login('sam', 'pw');
    expect(a.token).toBe('access-1');
    expect(JSON.parse(store.get('pitbox.session')!).refreshToken).toBe('refresh-1');
    await vi.advanceTimersByTimeAsync(539_000);
    expect(a.token).toBe('access-1');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.token).toBe('access-2');
    await vi.advanceTimersByTimeAsync(540_000);
    expect(a.token).toBe('access-3');
    expect(s.calls.filter((c) => c.url === '/api/auth/refresh').map((c) => c.body?.refreshToken)).toEqual(['refresh-1', 'refresh-2']);
    a.dispose();
  });

  it('a refused refresh ends the session with the reason', async () => {
    const s = server({ '/api/auth/login': () => [200, pair(1, 100)], '/api/auth/refresh': () => [401, { error: { message: 'reused' } }] });
    const a = new AuthManager({ fetch: s.f, storage: null });
    const seen: Array<string | null> = [];
    a.onChange((sess, reason) => !sess && seen.push(reason));
    await a.login('sam', 'pw');
    await vi.advanceTimersByTimeAsync(100_000);
    expect(a.session).toBeNull();
    expect(seen[0]).toMatch(/server refused to renew it/);
    a.dispose();
  });

  it('refresh is single-flight', async () => {
    const s = server({ '/api/auth/login': () => [200, pair(1)], '/api/auth/refresh': () => [200, pair(2)] });
    const a = new AuthManager({ fetch: s.f, storage: null });
    await a.login('sam', 'pw');
    const [x, y] = await Promise.all([a.refresh(), a.refresh()]);
    expect(x && y).toBe(true);
    expect(s.calls.filter((c) => c.url === '/api/auth/refresh')).toHaveLength(1);
    a.dispose();
  });

  it('fetchJson sends the bearer token and retries once after a refresh on 401', async () => {
    const s = server({
      '/api/auth/login': () => [200, pair(1)],
      '/api/auth/refresh': () => [200, pair(2)],
      '/api/sessions': (_b, n) => (n === 1 ? [401, {}] : [200, [{ id: 's1' }]]),
    });
    const a = new AuthManager({ fetch: s.f, storage: null });
    await a.login('sam', 'pw');
    expect(await a.fetchJson('/api/sessions')).toEqual([{ id: 's1' }]);
    expect(s.calls.filter((c) => c.url === '/api/sessions').map((c) => c.auth)).toEqual(['Bearer access-1', 'Bearer access-2']);
    a.dispose();
  });

  it('login errors are plain sentences', async () => {
    for (const [status, text] of [
      [401, 'Wrong username or password.'],
      [429, 'Too many attempts'],
      [404, 'sign in with a token'],
    ] as const) {
      const a = new AuthManager({ fetch: server({ '/api/auth/login': () => [status, {}] }).f, storage: null });
      await expect(a.login('u', 'p')).rejects.toThrow(text);
    }
    // The wait the cloud asks for (Retry-After), and a disabled account in the cloud's words.
    const locked = new AuthManager({
      fetch: (async () => new Response('{}', { status: 429, headers: { 'retry-after': '300' } })) as unknown as typeof fetch,
      storage: null,
    });
    await expect(locked.login('u', 'p')).rejects.toThrow('Too many attempts: try again in 5 min.');
    const disabled = new AuthManager({
      fetch: server({ '/api/auth/login': () => [403, { error: { code: 'account_disabled', message: 'this account is disabled: ask an admin' } }] }).f,
      storage: null,
    });
    await expect(disabled.login('u', 'p')).rejects.toThrow('this account is disabled: ask an admin');
    expect(waitText('40')).toBe('40 s');
    expect(waitText(null)).toBe('a few minutes');
    const down = new AuthManager({ fetch: (async () => Promise.reject(new TypeError('x'))) as unknown as typeof fetch, storage: null });
    await expect(down.login('u', 'p')).rejects.toThrow('cannot be reached');
  });

  it('logout revokes on the server and says why', async () => {
    const s = server({ '/api/auth/login': () => [200, pair(1)], '/api/auth/logout': () => [204, null] });
    const a = new AuthManager({ fetch: s.f, storage: null });
    await a.login('sam', 'pw');
    await a.logout();
    expect(a.session).toBeNull();
    expect(a.lastReason).toBe('You signed out.');
    expect(s.calls.find((c) => c.url === '/api/auth/logout')).toMatchObject({ body: { refreshToken: 'refresh-1' }, auth: 'Bearer access-1' });
  });

  it('token sign-in (relay): reads the claims, refuses expired tokens, expires on time with the reason', async () => {
    const now = Date.now();
    const a = new AuthManager({ storage: null });
    expect(() => a.loginWithToken(fakeJwt({ sub: 'x', exp: Math.floor(now / 1000) - 1 }))).toThrow('expired');
    a.loginWithToken(fakeJwt({ sub: 'drv-1', role: 'driver', name: 'Alex', exp: Math.floor(now / 1000) + 10 }));
    expect(a.session).toMatchObject({ mode: 'token', user: { id: 'drv-1', role: 'driver', username: 'Alex' }, refreshToken: null });
    const reasons: Array<string | null> = [];
    a.onChange((s, r) => !s && reasons.push(r));
    await vi.advanceTimersByTimeAsync(11_000);
    expect(a.session).toBeNull();
    expect(reasons[0]).toMatch(/Your session expired at/);
  });

  it('restore keeps a saved session and drops an expired one with a reason', () => {
    const saved = new Map<string, string>();
    const storage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v), removeItem: (k: string) => void saved.delete(k) };
    saved.set('pitbox.session', JSON.stringify({ token: 't', refreshToken: null, expiresAt: Date.now() - 1, user, mode: 'token' }));
    const a = new AuthManager({ storage });
    a.restore();
    expect(a.session).toBeNull();
    expect(a.lastReason).toMatch(/expired/);
    saved.set('pitbox.session', JSON.stringify({ token: 't', refreshToken: 'r', expiresAt: Date.now() + 100_000, user, mode: 'password' }));
    const b = new AuthManager({ storage });
    b.restore();
    expect(b.token).toBe('t');
    b.dispose();
  });

  it('decodeJwt handles base64url and garbage', () => {
    expect(decodeJwt(fakeJwt({ sub: 'ü-1' }))).toEqual({ sub: 'ü-1' });
    expect(decodeJwt('abc')).toBeNull();
    expect(decodeJwt('a.!!!.c')).toBeNull();
  });
});
