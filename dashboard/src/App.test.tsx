// @vitest-environment jsdom
import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthManager } from './api/auth';
import { DEFAULT_CONFIG } from './api/endpoints';
import { App } from './App';
import { message } from './test/factories';
import { fakeJwt } from './test/jwt';
import { asWS, MockSocket } from './test/mockSocket';

function signedIn() {
  const fetch = vi.fn(async () => new Response('{}', { status: 404 }));
  const auth = new AuthManager({ storage: null, fetch: fetch as unknown as typeof globalThis.fetch });
  auth.loginWithToken(fakeJwt({ sub: 'eng-1', role: 'engineer', name: 'sam', exp: Math.floor(Date.now() / 1000) + 3600 }));
  return auth;
}

beforeEach(() => {
  MockSocket.reset();
  history.replaceState(null, '', '/');
});
afterEach(() => vi.useRealTimers());

describe('App', () => {
  it('signed out: the login page', () => {
    render(<App auth={new AuthManager({ storage: null })} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    expect(screen.getByRole('heading', { name: 'PitBox' })).toBeInTheDocument();
    expect(MockSocket.instances).toHaveLength(0);
  });

  it('signed in: connects to /ws, shows live state, navigates between views', async () => {
    render(<App auth={signedIn()} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    const ws = MockSocket.last();
    expect(ws.url).toBe('ws://localhost:3000/ws');
    act(() => ws.accept());
    expect(screen.getByTestId('connection')).toHaveAttribute('data-state', 'live');
    expect(ws.types()).toEqual(['authenticate', 'subscribe']);
    fireEvent.click(screen.getByRole('link', { name: 'Standings' }));
    expect(location.pathname).toBe('/standings');
    expect(screen.getByRole('heading', { name: 'Competitors' })).toBeInTheDocument();
    act(() => history.back());
    await vi.waitFor(() => expect(screen.getByRole('heading', { name: 'Team overview' })).toBeInTheDocument());
  });

  it('an urgent message is on top of every view with an unread count until acknowledged', async () => {
    render(<App auth={signedIn()} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    const ws = MockSocket.last();
    act(() => ws.accept());
    fireEvent.click(screen.getByRole('link', { name: 'Track map' }));
    act(() => ws.frame('team_message', message({ id: 'u1', senderId: 'drv-1', senderName: 'Alex', priority: 'urgent', content: 'Puncture!' })));
    const banner = await screen.findByTestId('urgent-banner');
    expect(banner).toHaveTextContent('URGENT from Alex: Puncture!');
    expect(screen.getByTestId('badge-messages')).toHaveTextContent('1');
    fireEvent.click(screen.getByRole('button', { name: 'Acknowledge' }));
    expect(screen.queryByTestId('urgent-banner')).toBeNull();
    expect(ws.sent[ws.sent.length - 1]).toMatchObject({ type: 'message_read', data: { messageId: 'u1', readerId: 'eng-1' } });
  });

  it('sign out closes the link and returns to login with the reason', async () => {
    const auth = signedIn();
    render(<App auth={auth} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    const ws = MockSocket.last();
    act(() => ws.accept());
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Sign out' })));
    expect(screen.getByRole('status')).toHaveTextContent('You signed out.');
    expect(ws.closedWith?.code).toBe(1000);
  });

  it('a token the server refuses (no refresh) returns to login with the reason', async () => {
    const auth = signedIn();
    render(<App auth={auth} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    const ws = MockSocket.last();
    act(() => {
      ws.open();
      ws.frame('connection_established', { serverId: 's', timestamp: 'x', version: '1.0' });
      ws.frame('authentication_result', { success: false, reason: 'token revoked' });
    });
    expect(await screen.findByText('The server refused your token. Sign in again.')).toBeInTheDocument();
  });

  it('an expired session returns to login with the time it expired', async () => {
    vi.useFakeTimers();
    const auth = new AuthManager({ storage: null });
    auth.loginWithToken(fakeJwt({ sub: 'eng-1', exp: Math.floor(Date.now() / 1000) + 5 }));
    render(<App auth={auth} config={{ ...DEFAULT_CONFIG, restApi: false }} WebSocketImpl={asWS} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(6000);
    });
    expect(screen.getByRole('status')).toHaveTextContent(/Your session expired at/);
    expect(screen.getByLabelText(/Access token/)).toBeInTheDocument();
  });
});
