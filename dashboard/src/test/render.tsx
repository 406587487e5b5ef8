// Renders a view with real stores and a recording client: tests set state and read what the
// view sent.
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { vi } from 'vitest';
import { AuthManager } from '../api/auth';
import { DEFAULT_CONFIG, type ServerConfig } from '../api/endpoints';
import { ServicesContext } from '../app/context';
import type { Services } from '../app/services';
import type { ConnSnapshot, ProtocolClient } from '../protocol/client';
import type { ClientMessage } from '../protocol/types';
import { createSinks, initialState, type AppState } from '../store/app';
import { createStore } from '../store/store';
import { fakeJwt } from './jwt';

export const baseConn: ConnSnapshot = {
  state: 'live',
  attempts: 0,
  lastFrameAt: null,
  nextRetryAt: null,
  rttMs: 12,
  serverId: 'srv',
  serverVersion: '1.0',
  userId: 'eng-1',
  role: 'engineer',
  teamId: 'team-apex',
  reason: null,
  badFrames: 0,
  queued: 0,
};

export function makeServices(o: { state?: Partial<AppState>; conn?: Partial<ConnSnapshot>; config?: Partial<ServerConfig>; fetch?: typeof fetch; sendResult?: 'sent' | 'queued' } = {}) {
  const sent: ClientMessage[] = [];
  const store = createStore<AppState>({ ...initialState, me: { id: 'eng-1', username: 'sam', role: 'engineer' }, ...o.state });
  const conn = createStore<ConnSnapshot>({ ...baseConn, ...o.conn });
  const client = { retryNow: vi.fn(), send: vi.fn() } as unknown as ProtocolClient;
  const auth = new AuthManager({ storage: null, fetch: o.fetch ?? (vi.fn(async () => new Response('{}', { status: 404 })) as unknown as typeof fetch) });
  auth.loginWithToken(fakeJwt({ sub: 'eng-1', role: 'engineer', exp: Math.floor(Date.now() / 1000) + 3600 }));
  const svc: Services = {
    config: { ...DEFAULT_CONFIG, ...o.config },
    auth,
    store,
    conn,
    client,
    sinks: createSinks(),
    send: (m) => {
      sent.push(m);
      return o.sendResult ?? 'sent';
    },
    dispose: () => {},
  };
  return { svc, sent, store, conn };
}

export function renderWith(ui: ReactElement, o: Parameters<typeof makeServices>[0] = {}) {
  const s = makeServices(o);
  const r = render(<ServicesContext.Provider value={s.svc}>{ui}</ServicesContext.Provider>);
  return { ...s, ...r };
}

