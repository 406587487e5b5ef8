// @vitest-environment jsdom
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import uPlot from 'uplot';
import { AuthManager } from '../api/auth';
import { DEFAULT_CONFIG } from '../api/endpoints';
import { lapSummary } from '../api/laps';
import { applyMessages, type AppState } from '../store/app';
import { apiLap, apiSession, coaching, entry, handoff, message, session, standings, status, telemetry } from '../test/factories';
import { renderWith } from '../test/render';
import { schemaErrors } from '../test/schema';
import type { ServerMessage, TelemetryUpdate } from '../protocol/types';
import { Coaching } from './Coaching';
import { Compare } from './Compare';
import { ConnectionBadge } from './ConnectionBadge';
import { Handoffs } from './Handoffs';
import { History, bestValidLap } from './History';
import { Login } from './Login';
import { Messages } from './Messages';
import { Overview } from './Overview';
import { Standings } from './Standings';
import { Telemetry } from './Telemetry';
import { TrackMap } from './TrackMap';

const FakePlot = uPlot as unknown as { instances: Array<{ destroyed: boolean; data: unknown }> };

function withMessages(batch: ServerMessage[], base: Partial<AppState> = {}): Partial<AppState> {
  const s = applyMessages({ ...emptyState(), ...base }, batch, Date.now());
  return s;
}
function emptyState(): AppState {
  return {
    me: { id: 'eng-1', username: 'sam', role: 'engineer' },
    drivers: {},
    carIdxByDriver: {},
    session: null,
    sessionByDriver: {},
    standings: null,
    standingsBySession: {},
    viewedSession: null,
    pace: {},
    messages: [],
    receipts: {},
    handoffs: {},
    coaching: [],
    strategy: {},
    pitCommands: {},
    cueReferences: {},
    errors: [],
    lastDataAt: null,
    selectedDriverId: null,
    profilesAvailable: null,
  };
}
const M = (type: ServerMessage['type'], data: unknown) => ({ type, data }) as ServerMessage;

describe('Login', () => {
  it('shows the reason for returning, signs in, and shows refusals', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: { message: 'no' } }), { status: 401 }));
    const auth = new AuthManager({ storage: null, fetch: fetch as unknown as typeof globalThis.fetch });
    render(<Login auth={auth} config={DEFAULT_CONFIG} reason="Your session expired. Sign in again." />);
    expect(screen.getByRole('status')).toHaveTextContent('Your session expired');
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'sam' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong username or password.');
    expect(fetch).toHaveBeenCalledWith('/api/auth/login', expect.objectContaining({ method: 'POST' }));
  });

  it('a relay has no REST login: token sign-in only', () => {
    const auth = new AuthManager({ storage: null });
    render(<Login auth={auth} config={{ ...DEFAULT_CONFIG, restApi: false }} reason={null} />);
    expect(screen.getByLabelText(/Access token/)).toBeInTheDocument();
    expect(screen.queryByLabelText('Password')).toBeNull();
    fireEvent.change(screen.getByLabelText(/Access token/), { target: { value: 'not-a-jwt' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByRole('alert')).toHaveTextContent('not a JWT');
  });
});

describe('ConnectionBadge', () => {
  it.each([
    [{ state: 'live' as const }, 'Live', 'no data yet'],
    [{ state: 'reconnecting' as const, attempts: 3, nextRetryAt: Date.now() + 4000, reason: 'connection lost' }, 'Reconnecting', /attempt 3, retry in \d s — connection lost/],
    [{ state: 'offline' as const, attempts: 7, reason: 'the browser reports no network' }, 'Offline', 'attempt 7'],
    [{ state: 'unauthorized' as const, reason: 'token revoked' }, 'Not authorized', 'token revoked'],
  ])('%o', (conn, label, detail: string | RegExp) => {
    renderWith(<ConnectionBadge />, { conn });
    const el = screen.getByTestId('connection');
    expect(el).toHaveTextContent(label);
    expect(el).toHaveTextContent(detail);
  });

  it('flags stale data while the link says live, and offers retry when down', () => {
    const { svc } = renderWith(<ConnectionBadge />, { state: { lastDataAt: Date.now() - 9000 } });
    expect(screen.getByTestId('connection')).toHaveTextContent('no data for 9 s');
    expect(screen.getByTestId('connection')).toHaveClass('warn');
    act(() => svc.conn.setState((c) => ({ ...c, state: 'reconnecting' })));
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    expect(svc.client.retryNow).toHaveBeenCalled();
  });
});

describe('Overview', () => {
  it('empty: says how drivers appear', () => {
    renderWith(<Overview />);
    expect(screen.getByRole('status')).toHaveTextContent('No drivers yet');
  });

  it('shows the car with position, lap, fuel, last lap and the driver table', () => {
    const state = withMessages([
      M('session_info', session()),
      M('driver_status', status()),
      M('driver_status', status({ driverId: 'drv-2', inCar: false, status: 'standby', telemetryConnected: false })),
      M('telemetry_update', telemetry({ fuelLevel: 8.5, lap: 12 })),
      M('standings_update', standings(5, { entries: standings(5).entries.map((e) => (e.carIdx === 3 ? { ...e, isTeamCar: true, lastLapTime: 89.105 } : e)) })),
    ]);
    renderWith(<Overview />, { state });
    const car = screen.getByRole('region', { name: /Car of Alex Driver/ });
    expect(within(car).getByTestId('car-position')).toHaveTextContent('P4');
    expect(within(car).getByTestId('car-lap')).toHaveTextContent('12');
    expect(within(car).getByText('1:29.105')).toBeInTheDocument();
    expect(within(car).getByText('8.5 %')).toHaveClass('bad');
    const rows = screen.getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toHaveTextContent('in the car');
    expect(rows[2]).toHaveTextContent('standby');
  });

  it('marks a driver stale, with the age, when their newest sample is older than 2 s — on every view', () => {
    const at = (msAgo: number) =>
      applyMessages({ ...emptyState() }, [M('session_info', session()), M('driver_status', status()), M('telemetry_update', telemetry())], Date.now() - msAgo);
    // Fresh: no mark anywhere.
    const fresh = renderWith(<Overview />, { state: at(500) });
    expect(screen.queryByTestId('stale')).toBeNull();
    fresh.unmount();
    // 12 s without a sample: the car card and the driver row say so, and the card's numbers dim.
    const old = at(12_000);
    const o = renderWith(<Overview />, { state: old });
    const card = screen.getByRole('region', { name: /Car of Alex Driver/ });
    expect(card).toHaveClass('stale');
    expect(within(card).getByTestId('stale')).toHaveTextContent('stale · 12 s old');
    expect(screen.getAllByTestId('stale')).toHaveLength(2);
    o.unmount();
    const t = renderWith(<Telemetry driverId="drv-1" />, { state: old });
    expect(screen.getByTestId('stale')).toHaveTextContent('stale · 12 s old');
    t.unmount();
    renderWith(<TrackMap />, { state: old });
    expect(within(screen.getByRole('region', { name: 'Stale positions' })).getByTestId('stale')).toHaveTextContent('stale · 12 s old');
  });

  it('a driver in another session is shown with that session\'s standings, never another car\'s', () => {
    const state = withMessages([
      M('session_info', session({ driverId: 'drv-1', playerCarIdx: 0, simSessionId: 'iracing:1:900:2', drivers: [{ carIdx: 0, name: 'Alex Driver', carNumber: '23', teamName: 'Apex', carName: 'GT4', carClass: 'GT4' }] })),
      M('session_info', session({ driverId: 'drv-2', playerCarIdx: 0, simSessionId: 'iracing:1:901:0', drivers: [{ carIdx: 0, name: 'Ben Other', carNumber: '7', teamName: 'Apex', carName: 'GT4', carClass: 'GT4' }] })),
      M('driver_status', status({ driverId: 'drv-1' })),
      M('driver_status', status({ driverId: 'drv-2' })),
      M('telemetry_update', telemetry({ driverId: 'drv-1' })),
      M('telemetry_update', telemetry({ driverId: 'drv-2' })),
      M('standings_update', standings(1, { driverId: 'drv-2', simSessionId: 'iracing:1:901:0', entries: [entry(0, { position: 24 })] })),
    ]);
    renderWith(<Overview />, { state });
    // Ben's practice standings say P24; Alex's race has no standings yet, so nothing is borrowed.
    expect(within(screen.getByRole('region', { name: /Car of Ben Other/ })).getByTestId('car-position')).toHaveTextContent('P24');
    expect(within(screen.getByRole('region', { name: /Car of Alex Driver/ })).getByTestId('car-position')).not.toHaveTextContent('P24');
  });

  it('says when the numbers are not the player driving live (replay, garage, out of the car)', () => {
    const cases: Array<[Partial<TelemetryUpdate>, string, boolean]> = [
      [{ onTrack: true, inGarage: false, replayPlaying: false }, 'on track', true],
      [{ onTrack: true, replayPlaying: true }, 'replay playing — not live', false],
      [{ onTrack: false, inGarage: true }, 'in the garage', false],
      [{ onTrack: false, inGarage: false }, 'not in the car', false],
      [{ onPitRoad: true }, 'in pit lane', true],
    ];
    for (const [fields, text, live] of cases) {
      const { unmount } = renderWith(<Overview />, {
        state: withMessages([M('session_info', session()), M('driver_status', status()), M('telemetry_update', telemetry(fields))]),
      });
      const state = screen.getByTestId('car-state');
      expect(state).toHaveTextContent(text);
      if (live) expect(state).not.toHaveClass('notlive');
      else expect(state).toHaveClass('notlive');
      unmount();
    }
  });

  it('nobody in the car', () => {
    renderWith(<Overview />, { state: withMessages([M('driver_status', status({ inCar: false, status: 'standby' }))]) });
    expect(screen.getByText('Nobody is in the car right now.')).toBeInTheDocument();
  });
});

describe('Telemetry', () => {
  it('empty without drivers', () => {
    renderWith(<Telemetry driverId={null} />);
    expect(screen.getByRole('status')).toHaveTextContent('No telemetry yet');
  });

  it('a driver with no samples yet', () => {
    renderWith(<Telemetry driverId="drv-2" />, { state: withMessages([M('driver_status', status({ driverId: 'drv-2', inCar: false }))]) });
    expect(screen.getByRole('status')).toHaveTextContent('No telemetry from drv-2 yet');
  });

  it('shows current values and creates one streaming chart per channel group, destroyed on unmount', () => {
    FakePlot.instances.length = 0;
    const { unmount } = renderWith(<Telemetry driverId="drv-1" />, { state: withMessages([M('telemetry_update', telemetry({ speed: 212.4, gear: -1 }))]) });
    expect(screen.getByTestId('tele-speed')).toHaveTextContent('212 km/h');
    expect(screen.getByText('R')).toBeInTheDocument();
    expect(FakePlot.instances).toHaveLength(7);
    unmount();
    expect(FakePlot.instances.every((p) => p.destroyed)).toBe(true);
  });
});

describe('TrackMap', () => {
  it('empty: schematic and no cars', () => {
    renderWith(<TrackMap />);
    expect(screen.getByText(/No cars yet/)).toBeInTheDocument();
    expect(screen.getByTestId('outline-source')).toHaveTextContent('Schematic');
  });

  it('lists every car to follow, team cars marked, and the pit lane', () => {
    const st = standings(8);
    st.entries[3] = { ...st.entries[3]!, isTeamCar: true };
    st.entries[5] = { ...st.entries[5]!, onPitRoad: true, pitStops: 2 };
    renderWith(<TrackMap />, { state: withMessages([M('standings_update', st)]) });
    const select = screen.getByLabelText('Follow a car');
    expect(within(select).getAllByRole('option')).toHaveLength(9);
    expect(within(select).getByText('#4 (team)')).toBeInTheDocument();
    fireEvent.change(select, { target: { value: 'car-3' } });
    expect(screen.getByTestId('followed')).toHaveTextContent('P4');
    expect(within(screen.getByRole('region', { name: 'Pit lane' })).getByText(/#6 Driver 6 · stops 2/)).toBeInTheDocument();
  });
});

describe('Standings', () => {
  it('empty', () => {
    renderWith(<Standings />);
    expect(screen.getByRole('status')).toHaveTextContent('No standings yet');
  });

  it('60 cars: renders only the visible rows, team car highlighted, pace trend', () => {
    const st = standings(60);
    st.entries[2] = { ...st.entries[2]!, isTeamCar: true };
    const s1 = withMessages([M('standings_update', st)]);
    const s2 = applyMessages(s1 as AppState, [M('standings_update', { ...st, entries: st.entries.map((e) => ({ ...e, lap: 8, lastLapTime: e.lastLapTime! - 0.5 })) })], 2);
    renderWith(<Standings />, { state: s2 });
    const table = screen.getByRole('table', { name: 'Standings' });
    expect(table).toHaveAttribute('aria-rowcount', '61');
    const rendered = table.querySelectorAll('.vrow');
    expect(rendered.length).toBeGreaterThan(10);
    expect(rendered.length).toBeLessThan(30);
    expect(screen.getByTestId('standing-2')).toHaveClass('team');
    expect(screen.getAllByRole('img', { name: /last lap faster/ }).length).toBeGreaterThan(0);
  });
});

describe('Messages', () => {
  it('empty, with a composer', () => {
    renderWith(<Messages />);
    expect(screen.getByRole('status')).toHaveTextContent('No messages yet');
    expect(screen.getByRole('form', { name: 'New message' })).toBeInTheDocument();
  });

  it('shows priority, attachment and receipts; marks unread ones read', () => {
    const state = withMessages([
      M('team_message', message({ id: 'm1', senderId: 'drv-1', senderName: 'Alex', priority: 'urgent', attachment: { type: 'telemetry', url: '/api/laps/l1/telemetry', name: 'Lap 11 fuel' } })),
      M('message_read', { messageId: 'm1', readerId: 'drv-2', readAt: 'x' }),
    ]);
    const { sent } = renderWith(<Messages />, { state });
    expect(screen.getByText('urgent', { selector: '.pill' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Lap 11 fuel' })).toHaveAttribute('href', '/api/laps/l1/telemetry');
    expect(sent).toEqual([{ type: 'message_read', data: expect.objectContaining({ messageId: 'm1', readerId: 'eng-1' }) }]);
    expect(schemaErrors(sent[0]!)).toEqual([]);
    expect(screen.getByTestId('receipts')).toHaveTextContent(/read by (drv-2, you|you, drv-2)/);
  });

  it('sends a message with priority and attachment; says when it is queued', () => {
    const { sent } = renderWith(<Messages />, { sendResult: 'queued' });
    fireEvent.change(screen.getByLabelText('Message'), { target: { value: ' Box now ' } });
    fireEvent.change(screen.getByLabelText('Priority'), { target: { value: 'high' } });
    fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'document' } });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Fuel plan' } });
    fireEvent.change(screen.getByLabelText('Link'), { target: { value: 'https://example.invalid/plan.pdf' } });
    fireEvent.submit(screen.getByRole('form', { name: 'New message' }));
    expect(sent[0]).toMatchObject({
      type: 'team_message',
      data: { content: 'Box now', priority: 'high', senderId: 'eng-1', attachment: { type: 'document', name: 'Fuel plan', url: 'https://example.invalid/plan.pdf' } },
    });
    expect(schemaErrors(sent[0]!)).toEqual([]);
    expect(screen.getByRole('status')).toHaveTextContent('will be sent when the connection is back');
    expect(screen.getByText('Box now')).toBeInTheDocument();
  });

  it('viewers cannot send', () => {
    renderWith(<Messages />, { state: { me: { id: 'v', username: 'val', role: 'viewer' } } });
    expect(screen.queryByRole('form')).toBeNull();
  });
});

describe('Handoffs', () => {
  it('empty', () => {
    renderWith(<Handoffs />);
    expect(screen.getByRole('status')).toHaveTextContent('No handoffs yet');
  });

  it('request: sends a handoff_request with the car snapshot', () => {
    const state = withMessages([M('driver_status', status()), M('telemetry_update', telemetry({ lap: 48 })), M('driver_status', status({ driverId: 'drv-2', inCar: false }))]);
    const { sent } = renderWith(<Handoffs />, { state });
    fireEvent.change(screen.getByLabelText('Hand the car to'), { target: { value: 'drv-2' } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'Stint end' } });
    fireEvent.submit(screen.getByRole('form', { name: 'Request a handoff' }));
    expect(sent[0]).toMatchObject({ type: 'handoff_request', data: { targetDriverId: 'drv-2', reason: 'Stint end', status: 'pending', telemetrySnapshot: { lap: 48 } } });
    expect((sent[0]!.data as unknown as { telemetrySnapshot: Record<string, unknown> }).telemetrySnapshot).not.toHaveProperty('driverId');
    expect(schemaErrors(sent[0]!)).toEqual([]);
  });

  it('pending → accept / reject for an engineer; accepted → complete; state machine shows where it is', () => {
    const { sent, store } = renderWith(<Handoffs />, { state: withMessages([M('handoff_request', handoff({ telemetrySnapshot: telemetry() }))]) });
    expect(screen.getByRole('list', { name: 'State: pending' })).toBeInTheDocument();
    expect(screen.getByLabelText('Telemetry snapshot')).toHaveTextContent('200 km/h');
    fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    expect(sent[0]).toMatchObject({ type: 'handoff_response', data: { handoffId: 'ho-1', status: 'accepted', responderId: 'eng-1' } });
    act(() => store.setState((s) => applyMessages(s, [M('handoff_response', { handoffId: 'ho-1', status: 'accepted', responderId: 'eng-1', respondedAt: 'x' })], 1)));
    expect(screen.getByRole('list', { name: 'State: accepted' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Accept' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: /Mark completed/ }));
    expect(sent[1]).toMatchObject({ data: { status: 'completed' } });
    for (const m of sent) expect(schemaErrors(m)).toEqual([]);
  });

  it('a driver who is not the target cannot accept', () => {
    renderWith(<Handoffs />, { state: { ...withMessages([M('handoff_request', handoff())]), me: { id: 'drv-3', username: 'kim', role: 'driver' } } });
    expect(screen.queryByRole('button', { name: 'Accept' })).toBeNull();
  });

  it('says who moved it last and when: a driver by their name, this user by theirs, other staff as the pit wall', () => {
    const at = '2026-11-26T17:02:00Z';
    const cases: [string, string][] = [
      ['drv-2', 'completed by Jo'],
      ['eng-1', 'completed by sam'],
      ['adm-9', 'completed by the pit wall'],
    ];
    for (const [responderId, said] of cases) {
      const { unmount } = renderWith(<Handoffs />, { state: withMessages([M('handoff_request', handoff({ status: 'completed', respondedAt: at, responderId, targetDriverName: 'Jo' }))]) });
      expect(screen.getByTestId('handoff-answer')).toHaveTextContent(said);
      unmount();
    }
    renderWith(<Handoffs />, { state: withMessages([M('handoff_request', handoff())]) });
    expect(screen.queryByTestId('handoff-answer')).toBeNull();
  });

  it('rejected shows the short path', () => {
    renderWith(<Handoffs />, { state: withMessages([M('handoff_request', handoff({ status: 'rejected' }))]) });
    expect(screen.getByRole('list', { name: 'State: rejected' })).toHaveTextContent('pendingrejected');
  });
});

describe('Coaching', () => {
  it('empty', () => {
    renderWith(<Coaching />);
    expect(screen.getByRole('status')).toHaveTextContent('No coaching yet');
  });
  it('feed with the analysis lists, filterable by driver', () => {
    renderWith(<Coaching />, { state: withMessages([M('ai_coaching', coaching()), M('ai_coaching', coaching({ driverId: 'drv-2', feedback: 'Jo: smoother' }))]) });
    expect(screen.getAllByTestId('coaching')).toHaveLength(2);
    expect(screen.getAllByText('Brake later into T3').length).toBeGreaterThan(0);
    fireEvent.change(screen.getByLabelText('Driver'), { target: { value: 'drv-2' } });
    expect(screen.getAllByTestId('coaching')).toHaveLength(1);
  });
});

describe('Compare', () => {
  it('on a relay: unavailable', () => {
    renderWith(<Compare />, { config: { restApi: false } });
    expect(screen.getByRole('status')).toHaveTextContent('Not available on a relay');
  });

  it('a cloud without lap storage yet: unavailable, honestly', async () => {
    renderWith(<Compare />);
    expect(await screen.findByTestId('compare-unavailable')).toHaveTextContent('no lap storage API yet');
  });

  it('loads sessions and laps, compares best against last, asks the engine for corners', async () => {
    const lapBody = (slow: number) =>
      JSON.stringify(
        Array.from({ length: 101 }, (_, i) => ({ lapDistance: i * 10, lapTime: i * (0.2 + slow), speed: 180, throttle: 100, brake: 0, timestamp: `2026-11-26T16:0${slow ? 2 : 1}:${String(i % 60).padStart(2, '0')}Z` })),
      );
    const fetch = vi.fn(async (url: string) => {
      const ok = (v: unknown) => new Response(typeof v === 'string' ? v : JSON.stringify(v), { status: 200 });
      if (url === '/api/sessions') return ok([apiSession({ track: 'RBR' })]);
      if (url === '/api/sessions/s1/laps')
        return ok([
          // The cloud's SimLap: an out lap first (never the reference), then two timed laps.
          apiLap(0, { lapTime: 19, valid: false, invalid: ['pit road'], outLap: true }),
          apiLap(1, { lapTime: 20 }),
          apiLap(2, { lapTime: 21 }),
        ]);
      if (url === '/api/laps/l1/telemetry') return ok(lapBody(0));
      if (url === '/api/laps/l2/telemetry') return ok(lapBody(0.01));
      if (url === '/api/laps/l2/compare?reference=l1')
        return ok({
          lapId: 'l2',
          referenceLapId: 'l1',
          trackLengthM: 1000,
          focusLap: 2,
          lapTimeS: 21,
          valid: true,
          reference: { name: 'lap 1 of drv-1 at RBR', lap: 1, timeS: 20, valid: true },
          lapDeltaS: 1,
          corners: [{ id: 'T1', deltaS: 0.12, entryDeltaS: 0.05, exitDeltaS: 0.07, lap: { minSpeedKmh: 90 }, reference: { minSpeedKmh: 94 }, evidence: [{ kind: 'minSpeedLower' }] }],
          straights: [],
          segments: [],
          findings: [],
        });
      return new Response('{}', { status: 404 });
    });
    renderWith(<Compare />, { fetch: fetch as unknown as typeof globalThis.fetch });
    fireEvent.change(await screen.findByLabelText('Session'), { target: { value: 's1' } });
    expect(await screen.findByTestId('compare-summary')).toHaveTextContent('+1.000 s');
    expect(await screen.findByRole('rowheader', { name: 'T1' })).toBeInTheDocument();
    expect(screen.getByText('minSpeedLower')).toBeInTheDocument();
    expect(screen.getByTestId('corners-source')).toHaveTextContent('lap 2 against lap 1 of drv-1 at RBR');
  });

  it('takes the reference from another session on the same track', async () => {
    const lapBody = (slow: number) =>
      JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ lapDistance: i * 10, lapTime: i * (0.2 + slow), speed: 180, throttle: 100, brake: 0 })));
    const fetch = vi.fn(async (url: string) => {
      const ok = (v: unknown) => new Response(typeof v === 'string' ? v : JSON.stringify(v), { status: 200 });
      if (url === '/api/sessions')
        return ok([apiSession({ id: 's1', track: 'RBR' }), apiSession({ id: 's2', track: 'RBR', sessionType: 'Race' }), apiSession({ id: 's3', track: 'Monza' }), apiSession({ id: 's4', track: 'RBR', car: 'Porsche 911 GT3 R' })]);
      if (url === '/api/sessions/s1/laps') return ok([apiLap(1, { lapTime: 20 }), apiLap(2, { lapTime: 21 })]);
      if (url === '/api/sessions/s2/laps') return ok([apiLap(7, { lapTime: 19.5, id: 'r7' })]);
      if (url.startsWith('/api/laps/') && url.endsWith('/telemetry')) return ok(lapBody(url.includes('r7') ? 0 : 0.01));
      if (url === '/api/laps/l2/compare?reference=r7')
        return ok({ lapId: 'l2', referenceLapId: 'r7', trackLengthM: 1000, focusLap: 2, lapTimeS: 21, valid: true, reference: { name: 'lap 7 of drv-2 at RBR', lap: 7, timeS: 19.5, valid: true }, lapDeltaS: 1.5, corners: [], straights: [], segments: [], findings: [] });
      if (url.includes('/compare?')) return ok({ lapId: 'x', referenceLapId: 'y', trackLengthM: 1000, focusLap: 2, lapTimeS: 21, valid: true, reference: { lap: 1 }, lapDeltaS: 1, corners: [], straights: [], segments: [], findings: [] });
      return new Response('{}', { status: 404 });
    });
    renderWith(<Compare />, { fetch: fetch as unknown as typeof globalThis.fetch });
    fireEvent.change(await screen.findByLabelText('Session'), { target: { value: 's1' } });
    const refSession = await screen.findByLabelText('Reference session');
    // Only sessions on the same track in the same car are offered.
    expect(Array.from(refSession.querySelectorAll('option')).map((o) => o.getAttribute('value'))).toEqual(['s1', 's2']);
    fireEvent.change(refSession, { target: { value: 's2' } });
    await waitFor(() => expect(screen.getByTestId('compare-summary')).toHaveTextContent('+1.500 s'));
    expect(await screen.findByText(/against lap 7 of drv-2 at RBR/)).toHaveAttribute('data-testid', 'corners-source');
  });
});

describe('History', () => {
  const detail = {
    id: 'iracing-offline:1738253369',
    teamId: 'team-1',
    track: 'Tsukuba Circuit 1k Outer',
    car: 'Formula Vee',
    sessionTypes: ['Offline Testing'],
    sessionCount: 1,
    driverIds: ['drv-1'],
    startedAt: '2025-01-30T16:09:29Z',
    lastSeenAt: '2025-01-30T16:10:26Z',
    sessions: [apiSession({ id: 's1', track: 'Tsukuba Circuit 1k Outer', sessionType: 'Offline Testing', source: 'import' })],
    stints: [{ driverId: 'drv-1', sessionId: 's1', firstLap: 0, lastLap: 3, laps: 4, completeLaps: 2, bestLapTime: 23.98, startedAt: '2025-01-30T16:09:29Z', endedAt: '2025-01-30T16:10:26Z', endedInPits: false }],
    standings: [
      {
        simSessionId: 'iracing-offline:1738253369:0',
        sessionType: 'Offline Testing',
        reason: 'latest',
        reportedBy: 'drv-1',
        takenAt: '2025-01-30T16:10:26Z',
        sessionTime: 57,
        entries: [standings(3).entries[1], standings(3).entries[0]],
      },
    ],
  };
  const laps = [
    apiLap(0, { lapTime: null, complete: false, valid: false, invalid: ['incomplete', 'pit road'], outLap: true, sectors: [] }),
    // iRacing's f32 LapLastLapTime as the API serves it.
    apiLap(1, { lapTime: 25.914499282836914, valid: false, invalid: ['pit road'], outLap: true }),
    apiLap(2, { lapTime: 23.98 }),
  ];
  const server = () =>
    vi.fn(async (url: string) => {
      const ok = (v: unknown) => new Response(JSON.stringify(v), { status: 200 });
      if (url === '/api/events') return ok([{ ...detail, sessions: undefined, stints: undefined, standings: undefined }]);
      if (url === `/api/events/${encodeURIComponent(detail.id)}`) return ok(detail);
      if (url === '/api/sessions/s1/laps') return ok(laps);
      return new Response('{}', { status: 404 });
    });

  it('shows events, the laps as the sim timed them (invalid ones with the reason, the best marked), stints and standings', async () => {
    renderWith(<History />, { fetch: server() as unknown as typeof globalThis.fetch });
    expect(await screen.findByRole('button', { name: 'Tsukuba Circuit 1k Outer' })).toBeInTheDocument();
    const table = await screen.findByTestId('lap-table');
    expect(within(within(table).getByTestId('lap-1')).getByTestId('lap-time')).toHaveTextContent('0:25.914');
    expect(within(within(table).getByTestId('lap-2')).getByTestId('lap-time')).toHaveTextContent('0:23.980');
    expect(within(table).getByTestId('lap-0')).toHaveTextContent('invalid: incomplete, pit road');
    expect(within(table).getByTestId('lap-1')).toHaveClass('invalid');
    expect(within(table).getByTestId('lap-1')).toHaveTextContent('out lap');
    expect(within(table).getByTestId('lap-2')).toHaveClass('best');
    expect(within(table).getByTestId('lap-2')).toHaveTextContent('best');
    expect(screen.getByTestId('event-stints')).toHaveTextContent('0:23.980');
    const st = screen.getByTestId('standings-iracing-offline:1738253369:0-latest');
    expect(within(st).getAllByRole('row')).toHaveLength(3);
  });

  it('refuses a file that is not an .ibt before sending it', async () => {
    const fetch = server();
    renderWith(<History />, { fetch: fetch as unknown as typeof globalThis.fetch });
    fireEvent.change(screen.getByLabelText(/Driver/), { target: { value: 'drv-1' } });
    const file = new File(['hello'], 'notes.txt', { type: 'text/plain' });
    fireEvent.change(screen.getByTestId('ibt-file'), { target: { files: [file] } });
    expect(await screen.findByTestId('upload-result')).toHaveTextContent('notes.txt is not an iRacing .ibt file.');
    expect(fetch).not.toHaveBeenCalledWith(expect.stringContaining('/api/sessions/import'), expect.anything());
  });

  it('bestValidLap never picks an out, in or invalid lap', () => {
    expect(bestValidLap(laps.map(lapSummary))).toBe('l2');
    expect(bestValidLap([lapSummary(apiLap(5, { lapTime: 10, valid: false, invalid: ['pit road'], inLap: true }))])).toBeNull();
  });
});
