// Wires the parts together for one signed-in session: the protocol client feeds the store in
// throttled batches; connection state goes to its own small store (it changes at a different
// rhythm than data). Everything started here is released by dispose().
import { AuthManager } from '../api/auth';
import { ENDPOINTS, type ServerConfig, wsUrl } from '../api/endpoints';
import { ProtocolClient, type ClientOptions, type ConnSnapshot } from '../protocol/client';
import { rowsFromBody } from '../analysis/compare';
import { lapTelemetryText, listLaps, listSessions } from '../api/laps';
import type { AiCoaching, Channel, ClientMessage, DriverProfile, HandoffRequest, ServerMessage, TeamMessage, TelemetryUpdate } from '../protocol/types';
import { applyMessages, applyProfiles, createSinks, initialState, type AppState, type Sinks } from '../store/app';
import { createStore, type Store } from '../store/store';

/** How often the team's driver profiles are read again (GET /api/drivers). */
export const PROFILE_REFRESH_MS = 30_000;

export const ALL_CHANNELS: Channel[] = ['telemetry', 'standings', 'session', 'messages', 'handoffs', 'coaching', 'status', 'strategy'];

export interface Services {
  config: ServerConfig;
  auth: AuthManager;
  store: Store<AppState>;
  conn: Store<ConnSnapshot>;
  client: ProtocolClient;
  sinks: Sinks;
  send(msg: ClientMessage): 'sent' | 'queued';
  dispose(): void;
}

/** Seeds the track outline from the newest stored lap (position fixes), when the cloud has one. */
async function seedOutline(auth: AuthManager, sinks: Sinks, disposed: () => boolean): Promise<void> {
  try {
    const sessions = await listSessions(auth);
    const last = sessions[sessions.length - 1];
    if (!last || disposed()) return;
    const laps = await listLaps(auth, last.id);
    const lap = laps[laps.length - 1];
    if (!lap || disposed()) return;
    const samples = rowsFromBody(JSON.parse(await lapTelemetryText(auth, lap.id)) as unknown);
    if (!samples || disposed() || sinks.outline.ready()) return;
    for (const t of samples as Array<Partial<TelemetryUpdate>>) {
      if (typeof t.trackPosition === 'number' && typeof t.latitude === 'number' && typeof t.longitude === 'number') {
        sinks.outline.addGps(t.trackPosition, t.latitude, t.longitude);
      }
    }
  } catch {
    /* no stored laps: the outline is learned live */
  }
}

/**
 * Team messages (with this user's read flags), handoffs and coaching from REST, merged like live
 * messages (deduplicated): a dashboard opened mid-race, or back after a drop, misses nothing.
 */
async function loadHistory(auth: AuthManager, store: Store<AppState>, sinks: Sinks, now: () => number, disposed: () => boolean): Promise<void> {
  const [msgs, hos, coaching] = await Promise.allSettled([
    auth.fetchJson<TeamMessage[]>(ENDPOINTS.messages),
    auth.fetchJson<HandoffRequest[]>(ENDPOINTS.handoffs),
    auth.fetchJson<Array<{ coaching?: AiCoaching }>>(ENDPOINTS.coaching),
  ]);
  if (disposed()) return;
  const me = auth.session?.user.id;
  const batch: ServerMessage[] = [];
  if (msgs.status === 'fulfilled' && Array.isArray(msgs.value)) {
    for (const m of msgs.value) {
      batch.push({ type: 'team_message', data: m });
      if (m.read && me && m.senderId !== me) batch.push({ type: 'message_read', data: { messageId: m.id, readerId: me, readAt: m.sentAt } });
    }
  }
  if (hos.status === 'fulfilled' && Array.isArray(hos.value)) for (const h of hos.value) batch.push({ type: 'handoff_request', data: h });
  // GET /api/coaching: stored records `{…, coaching: <the ai_coaching data>}`, newest first.
  if (coaching.status === 'fulfilled' && Array.isArray(coaching.value)) {
    for (const r of coaching.value.slice().reverse()) {
      const c = r?.coaching;
      if (c && typeof c.feedback === 'string' && typeof c.timestamp === 'string') batch.push({ type: 'ai_coaching', data: c });
    }
  }
  if (batch.length) store.setState((s) => applyMessages(s, batch, now(), sinks));
}

export function startServices(
  config: ServerConfig,
  auth: AuthManager,
  opts: { WebSocketImpl?: typeof WebSocket; clientOptions?: Partial<ClientOptions>; now?: () => number } = {},
): Services {
  const now = opts.now ?? Date.now;
  const sinks = createSinks();
  const session = auth.session;
  const store = createStore<AppState>({
    ...initialState,
    me: session ? { id: session.user.id, username: session.user.username, role: String(session.user.role) } : null,
  });
  sinks.outlineDriver = () => store.getState().selectedDriverId;
  const client = new ProtocolClient({
    url: wsUrl(config.wsPath),
    getToken: () => auth.token,
    onAuthRejected: async () => (auth.session?.refreshToken ? auth.refresh() : (auth.expire('The server refused your token. Sign in again.'), false)),
    WebSocketImpl: opts.WebSocketImpl,
    ...opts.clientOptions,
  });
  const conn = createStore<ConnSnapshot>(client.snapshot);
  let disposed = false;
  let wasLive = false;
  const offState = client.onState((s) => {
    conn.setState(() => s);
    // Every (re)connection: fetch what was said while this dashboard was away.
    if (s.state === 'live' && !wasLive && config.restApi) void loadHistory(auth, store, sinks, now, () => disposed);
    wasLive = s.state === 'live';
  });
  const offMsgs = client.onMessages((batch) => store.setState((s) => applyMessages(s, batch, now(), sinks)));
  const offAuth = auth.onChange((s) => {
    if (!s) return;
    store.setState((st) => ({ ...st, me: { id: s.user.id, username: s.user.username, role: String(s.user.role) } }));
  });
  client.setSubscription({ driverIds: [], channels: ALL_CHANNELS, maxRateHz: 20 });
  client.start();

  let profileTimer: ReturnType<typeof setInterval> | null = null;
  if (config.restApi) {
    const loadProfiles = (first: boolean) =>
      auth
        .fetchJson<DriverProfile[] | { drivers: DriverProfile[] }>(ENDPOINTS.drivers)
        .then((v) => {
          if (disposed) return;
          const list = Array.isArray(v) ? v : v.drivers;
          if (Array.isArray(list)) store.setState((s) => applyProfiles(s, list));
        })
        .catch(() => {
          if (!disposed && first) store.setState((s) => ({ ...s, profilesAvailable: false }));
        });
    void loadProfiles(true);
    // Profiles appear on a driver's first sign-in or stream, and lastActive / stintStartedAt
    // move with the stored telemetry (relayed drivers included): read them again now and then.
    profileTimer = setInterval(() => void loadProfiles(false), PROFILE_REFRESH_MS);
    void seedOutline(auth, sinks, () => disposed);
  } else {
    store.setState((s) => ({ ...s, profilesAvailable: false }));
  }

  return {
    config,
    auth,
    store,
    conn,
    client,
    sinks,
    send: (m) => client.send(m),
    dispose() {
      disposed = true;
      if (profileTimer !== null) clearInterval(profileTimer);
      offState();
      offMsgs();
      offAuth();
      client.stop();
      sinks.history.clear();
    },
  };
}
