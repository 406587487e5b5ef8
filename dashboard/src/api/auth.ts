// Sign-in and the REST client: JWT access token + opaque refresh token rotated on every use
// (POST /api/auth/refresh returns a new pair; the old refresh token is dead). The access token is
// refreshed a minute before it expires; a refused refresh ends the session with the reason, which
// the login page shows. Tokens live in sessionStorage: a reload keeps the session, other tabs and
// other browsers do not share it.
import type { LoginResponse, UserRole } from '../protocol/types';
import { ENDPOINTS } from './endpoints';

export interface AuthSession {
  token: string;
  refreshToken: string | null;
  /** Epoch ms when the access token expires, when known. */
  expiresAt: number | null;
  user: { id: string; username: string; role: UserRole | string };
  /** `password`: cloud login with refresh; `token`: a pasted token (relay), no refresh. */
  mode: 'password' | 'token';
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The API's `error.code` and `error.field` (`{"error": {code, message, field}}`), when given. */
    readonly detail: { code?: string | null; field?: string | null } = {},
  ) {
    super(message);
  }
}

export interface AuthOptions {
  fetch?: typeof fetch;
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  now?: () => number;
  /** Refresh this long before expiry. */
  refreshLeadMs?: number;
}

const KEY = 'pitbox.session';

/** Decodes a JWT's payload without verifying it (the server verifies). */
export function decodeJwt(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(b64 + '==='.slice((b64.length + 3) % 4)), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** How long `Retry-After` (seconds) asks to wait, in words: "5 min", "40 s". */
export function waitText(retryAfter: string | null): string {
  const s = Number(retryAfter);
  if (retryAfter === null || !Number.isFinite(s) || s <= 0) return 'a few minutes';
  if (s < 90) return `${Math.ceil(s)} s`;
  return `${Math.ceil(s / 60)} min`;
}

async function errorText(r: Response): Promise<string> {
  return (await errorBody(r)).message;
}

/** The API's error `{"error": {code, message, field}}` (or a plain text/message), never throwing. */
async function errorBody(r: Response): Promise<{ message: string; code?: string | null; field?: string | null }> {
  try {
    const body = (await r.json()) as { error?: { message?: string; code?: string | null; field?: string | null } | string; message?: string };
    if (typeof body.error === 'string') return { message: body.error };
    return { message: body.error?.message ?? body.message ?? `HTTP ${r.status}`, code: body.error?.code, field: body.error?.field };
  } catch {
    return { message: `HTTP ${r.status}` };
  }
}

type Listener = (s: AuthSession | null, reason: string | null) => void;

export class AuthManager {
  private s: AuthSession | null = null;
  private listeners = new Set<Listener>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly f: typeof fetch;
  private readonly storage: AuthOptions['storage'];
  private readonly now: () => number;
  private readonly lead: number;
  lastReason: string | null = null;

  constructor(o: AuthOptions = {}) {
    this.f = o.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
    this.storage = o.storage === undefined ? (typeof sessionStorage !== 'undefined' ? sessionStorage : null) : o.storage;
    this.now = o.now ?? Date.now;
    this.lead = o.refreshLeadMs ?? 60_000;
  }

  get session(): AuthSession | null {
    return this.s;
  }

  get token(): string | null {
    return this.s?.token ?? null;
  }

  onChange(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Restores a session saved in this tab (reload). Expired ones are dropped with a reason. */
  restore(): void {
    const raw = this.storage?.getItem(KEY);
    if (!raw) return;
    try {
      const s = JSON.parse(raw) as AuthSession;
      if (s.expiresAt !== null && s.expiresAt <= this.now() && !s.refreshToken) {
        this.storage?.removeItem(KEY);
        this.lastReason = 'Your session expired. Sign in again.';
        return;
      }
      this.set(s, null);
    } catch {
      this.storage?.removeItem(KEY);
    }
  }

  async login(username: string, password: string): Promise<void> {
    let r: Response;
    try {
      r = await this.f(ENDPOINTS.login, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    } catch {
      throw new ApiError(0, 'The server cannot be reached.');
    }
    if (r.status === 401) throw new ApiError(401, 'Wrong username or password.');
    // 403: the account is disabled (the cloud says so); not a wrong password.
    if (r.status === 403) throw new ApiError(403, await errorText(r));
    if (r.status === 429) throw new ApiError(429, `Too many attempts: try again in ${waitText(r.headers.get('retry-after'))}.`);
    if (r.status === 404) throw new ApiError(404, 'This server has no login API (a relay?): sign in with a token.');
    if (!r.ok) throw new ApiError(r.status, await errorText(r));
    const body = (await r.json()) as LoginResponse;
    this.set(this.fromResponse(body), null);
  }

  /** Sign in with a token made by `pitbox token` (relay) or copied from another session. */
  loginWithToken(token: string): void {
    const claims = decodeJwt(token.trim());
    if (!claims) throw new ApiError(0, 'That is not a JWT (three base64url parts).');
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : null;
    if (exp !== null && exp <= this.now()) throw new ApiError(0, 'That token has expired.');
    const sub = typeof claims.sub === 'string' ? claims.sub : 'unknown';
    const name = typeof claims.name === 'string' ? claims.name : typeof claims.username === 'string' ? claims.username : sub;
    const role = typeof claims.role === 'string' ? claims.role : 'viewer';
    this.set({ token: token.trim(), refreshToken: null, expiresAt: exp, user: { id: sub, username: name, role }, mode: 'token' }, null);
  }

  private fromResponse(b: LoginResponse): AuthSession {
    let expiresAt: number | null = null;
    if (typeof b.expiresIn === 'number') expiresAt = this.now() + b.expiresIn * 1000;
    else {
      const exp = decodeJwt(b.token)?.exp;
      if (typeof exp === 'number') expiresAt = exp * 1000;
    }
    return { token: b.token, refreshToken: b.refreshToken ?? null, expiresAt, user: b.user, mode: 'password' };
  }

  /** Rotates the refresh token; single-flight. False (and signed out) when refused. */
  refresh(): Promise<boolean> {
    if (this.refreshing) return this.refreshing;
    const s = this.s;
    if (!s?.refreshToken) {
      if (s) this.expire(s.mode === 'token' ? 'The token was refused or has expired. Sign in again.' : 'Your session expired. Sign in again.');
      return Promise.resolve(false);
    }
    this.refreshing = (async () => {
      try {
        const r = await this.f(ENDPOINTS.refresh, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refreshToken: s.refreshToken }),
        });
        if (r.status === 401 || r.status === 403) {
          this.expire('Your session ended: the server refused to renew it (expired, revoked or signed out elsewhere). Sign in again.');
          return false;
        }
        if (!r.ok) {
          // Server trouble: keep the session and try again soon.
          this.schedule(30_000);
          return false;
        }
        const body = (await r.json()) as LoginResponse;
        this.set({ ...this.fromResponse(body), refreshToken: body.refreshToken ?? null }, null);
        return true;
      } catch {
        this.schedule(15_000);
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async logout(): Promise<void> {
    const s = this.s;
    this.set(null, 'You signed out.');
    if (s?.mode === 'password') {
      try {
        await this.f(ENDPOINTS.logout, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
          body: JSON.stringify({ refreshToken: s.refreshToken }),
        });
      } catch {
        /* signed out locally anyway */
      }
    }
  }

  expire(reason: string): void {
    if (!this.s) return;
    this.set(null, reason);
  }

  /** GET/POST JSON with the access token; one refresh and retry on 401. */
  async fetchJson<T>(path: string, init: RequestInit = {}): Promise<T> {
    return JSON.parse(await this.fetchText(path, init)) as T;
  }

  /** GET a file with the access token (downloads need the header, so no plain link). */
  async fetchBlob(path: string): Promise<Blob> {
    const go = () => this.f(path, { headers: this.s ? { authorization: `Bearer ${this.s.token}` } : {} });
    let r = await go();
    if (r.status === 401 && (await this.refresh())) r = await go();
    if (!r.ok) throw new ApiError(r.status, await errorText(r));
    return r.blob();
  }

  /**
   * POSTs a file as the raw body with the access token, reporting upload progress (0–1);
   * resolves with the JSON answer. XMLHttpRequest because fetch reports no upload progress.
   */
  upload<T>(path: string, file: Blob, onProgress: (fraction: number) => void, Xhr: typeof XMLHttpRequest = XMLHttpRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const x = new Xhr();
      x.open('POST', path);
      x.setRequestHeader('content-type', 'application/octet-stream');
      x.setRequestHeader('accept', 'application/json');
      if (this.s) x.setRequestHeader('authorization', `Bearer ${this.s.token}`);
      x.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
      };
      x.onerror = () => reject(new ApiError(0, 'the upload failed: the server could not be reached'));
      x.onload = () => {
        let body: { error?: { message?: string } } | T | null = null;
        try {
          body = JSON.parse(x.responseText) as typeof body;
        } catch {
          body = null;
        }
        if (x.status >= 200 && x.status < 300) {
          onProgress(1);
          resolve(body as T);
        } else {
          const msg = (body as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${x.status}`;
          reject(new ApiError(x.status, msg));
        }
      };
      x.send(file);
    });
  }

  /** Like fetchJson but returns the body text (parsed later, e.g. in the analysis worker). */
  async fetchText(path: string, init: RequestInit = {}): Promise<string> {
    const go = () =>
      this.f(path, {
        ...init,
        headers: {
          accept: 'application/json',
          ...(init.body ? { 'content-type': 'application/json' } : {}),
          ...(this.s ? { authorization: `Bearer ${this.s.token}` } : {}),
          ...(init.headers as Record<string, string> | undefined),
        },
      });
    let r = await go();
    if (r.status === 401 && (await this.refresh())) r = await go();
    if (!r.ok) {
      const e = await errorBody(r);
      throw new ApiError(r.status, e.message, { code: e.code, field: e.field });
    }
    return r.text();
  }

  private set(s: AuthSession | null, reason: string | null): void {
    this.s = s;
    this.lastReason = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (s) {
      this.storage?.setItem(KEY, JSON.stringify(s));
      if (s.expiresAt !== null) {
        const left = s.expiresAt - this.now();
        this.schedule(Math.max(0, left - (s.refreshToken ? this.lead : 0)));
      }
    } else {
      this.storage?.removeItem(KEY);
    }
    for (const l of this.listeners) l(s, reason);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    // setTimeout overflows past ~24.8 days; re-arm in steps.
    const step = Math.min(ms, 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = null;
      const s = this.s;
      if (!s) return;
      if (s.refreshToken) void this.refresh();
      else if (s.expiresAt !== null && s.expiresAt <= this.now()) {
        this.expire(`Your session expired at ${new Date(s.expiresAt).toLocaleTimeString()}. Sign in again.`);
      } else if (s.expiresAt !== null) this.schedule(s.expiresAt - this.now());
    }, step);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }
}
