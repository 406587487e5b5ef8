// @vitest-environment jsdom
// The driver's window (issue 22 §1) against a recorded local API: what each screen shows, and
// exactly what the driver's clicks send to the agent.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { coaching, handoff, message } from '../test/factories';
import { LocalApi, type AgentStatus, type LoginInfo, type VoiceStatus } from './api';
import { DriverApp } from './DriverApp';
import { hhmm, statusLines } from './status';

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });

function agentStatus(p: Partial<AgentStatus> = {}): AgentStatus {
  return {
    source: 'sim',
    sourceState: 'connected',
    relayConnected: true,
    relayConnects: 1,
    telemetrySent: 4321,
    sequence: 1,
    driverId: 'drv-2',
    relayState: 'ok',
    samplesRefused: 0,
    lastRefusal: null,
    login: { state: 'ok', username: 'jo', userId: 'drv-2', renewals: 0, expiresAt: 0, renewAt: 0, lastError: null },
    pitCommand: null,
    race: { position: 4, gapAheadS: 1.234, gapBehindS: 0.8, lastLapS: 85.432, bestLapS: 84.9, at: '2026-11-26T16:00:00Z' },
    plan: null,
    samplesProduced: 5000,
    spool: null,
    upstream: 'relay',
    lastAckedSequence: 1,
    ...p,
  };
}

const signedOut: LoginInfo = { signedIn: false, username: null, userId: null, role: null, cloud: null, agentUses: 'nothing', running: null, inUse: false, restartNeeded: false };
const signedIn: LoginInfo = { ...signedOut, signedIn: true, username: 'ana', userId: 'u-ana', role: 'driver', cloud: 'https://pitbox.myteam.com', restartNeeded: true };
const voiceOk: VoiceStatus = { enabled: true, engine: 'espeak-ng', output: 'sound card', speech: 'ready', recognizer: 'not loaded' };
const current = { speed: 212.4, rpm: 7000, gear: 5, throttle: 1, brake: 0, steeringAngle: 0, lap: 12, position: 4, fuelLevel: 61.2 };

/** A fake agent: answers the reads from `state`, records every write and answers it with `writes`. */
function fakeAgent(state: { status: AgentStatus; voice?: VoiceStatus; messages?: unknown[]; current?: unknown; login?: LoginInfo }, writes: (path: string, body: unknown) => Response = () => json({}, 202)) {
  const posts: { path: string; body: unknown; method?: string }[] = [];
  const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = String(input);
    if (init?.method === 'POST' || init?.method === 'DELETE') {
      const body = init.body ? JSON.parse(String(init.body)) : undefined;
      posts.push(init.method === 'POST' ? { path, body } : { path, body, method: 'DELETE' });
      return writes(path, body);
    }
    switch (path) {
      case '/api/status':
        return json(state.status);
      case '/api/voice/status':
        return json(state.voice ?? voiceOk);
      case '/api/telemetry/current':
        return state.current === null ? json({ error: 'no telemetry yet' }, 503) : json(state.current ?? current);
      case '/api/messages':
        return json(state.messages ?? []);
      case '/api/login':
        return json(state.login ?? signedOut);
      default:
        return json({ error: 'not found' }, 404);
    }
  });
  return { api: new LocalApi(f as unknown as typeof fetch), posts, fetch: f };
}

beforeEach(() => {
  history.replaceState(null, '', '/');
});

describe('status lines', () => {
  it('say why in plain words: iRacing not running, the spool and since when, the refused sign-in, speech off', () => {
    const since = '2026-11-26T14:02:00Z';
    const lines = statusLines(
      agentStatus({
        source: 'iracing',
        sourceState: 'waiting',
        relayState: 'disconnected',
        spool: { samples: 1240, batches: 3, bytes: 1000, limitBytes: 10_000, fullFraction: 0.1, nearFull: false, oldestAgeSecs: 20, unreachableSince: since },
        login: { state: 'refused', username: 'jo', userId: 'drv-2', renewals: 1, expiresAt: 0, renewAt: 0, lastError: 'the cloud ended the sign-in: password changed' },
      }),
      { ...voiceOk, speech: 'espeak-ng not found: install it with scripts/setup-voice' },
    );
    const by = Object.fromEntries(lines.map((l) => [l.key, l]));
    expect(by.sim).toMatchObject({ level: 'warn', text: 'iRacing not running' });
    expect(by.relay).toMatchObject({ level: 'bad', text: 'disconnected', reason: `spooling 1,240 samples, relay unreachable since ${hhmm(since)}` });
    expect(by.cloud).toMatchObject({ level: 'bad', reason: 'the cloud ended the sign-in: password changed' });
    expect(by.voice).toMatchObject({ level: 'bad', text: 'callouts not spoken', reason: 'espeak-ng not found: install it with scripts/setup-voice' });
  });

  it('are all ok when everything works; a refusal names the relay’s own words', () => {
    expect(statusLines(agentStatus(), voiceOk).map((l) => l.level)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    // Samples wait on disk a moment before each acknowledged batch: news only as a backlog.
    const spool = { samples: 128, batches: 1, bytes: 1000, limitBytes: 10_000, fullFraction: 0.1, nearFull: false, oldestAgeSecs: 1.5, unreachableSince: null };
    expect(statusLines(agentStatus({ spool }), voiceOk)[1]).toMatchObject({ level: 'ok', reason: '4,321 samples sent' });
    expect(statusLines(agentStatus({ spool: { ...spool, samples: 1240, oldestAgeSecs: 40 } }), voiceOk)[1]).toMatchObject({ level: 'warn', reason: 'catching up: spooling 1,240 samples, sending' });
    const refused = statusLines(agentStatus({ relayState: 'refused', lastRefusal: { at: 'x', code: 'rate_limited', message: 'too many samples' } }), voiceOk)[1];
    expect(refused).toMatchObject({ level: 'bad', reason: 'rate_limited: too many samples' });
    const direct = statusLines(agentStatus({ upstream: 'cloud', relayState: 'unauthorised', lastRefusal: null }), voiceOk)[1];
    expect(direct).toMatchObject({ name: 'Team link (cloud)', text: 'the cloud refused the sign-in' });
  });
});

describe('the video line', () => {
  const video = { source: 'window:iRacing.com Simulator', size: '1280x720', fps: 30, bitrateBps: 2_940_000, sending: true, framesSent: 900, framesDropped: 0, error: null };
  const line = (p: Partial<AgentStatus>) => statusLines(agentStatus(p), voiceOk).find((l) => l.key === 'video');
  it('says plainly whether the screen goes to the team, and why not', () => {
    expect(line({ video: null })).toMatchObject({ level: 'ok', text: 'off' });
    expect(line({ video })).toMatchObject({ level: 'ok', text: 'sending to the team', reason: 'window:iRacing.com Simulator · 1280x720 · 30 fps · 2.9 Mbit/s' });
    expect(line({ video: { ...video, sending: false, error: 'no window whose title contains "iRacing.com Simulator"' } })).toMatchObject({
      level: 'bad',
      text: 'not sending',
      reason: 'no window whose title contains "iRacing.com Simulator"',
    });
    expect(line({ video: { ...video, sending: false, paused: true } })).toMatchObject({ level: 'ok', text: 'stopped' });
    expect(line({ video: { ...video, sending: false }, relayState: 'disconnected' })).toMatchObject({ level: 'warn', reason: 'window:iRacing.com Simulator · 1280x720 · 30 fps: waiting for the relay' });
  });
});

describe('the driver’s window', () => {
  it('Live: lap, position, gaps, fuel laps left, last and best lap, the coaching feed', async () => {
    const plan = { lap: 12, lapsRemaining: 30, fuelLapsLeft: 8.26, pitWindow: { opensLap: 18, closesLap: 20 }, nextStopFuelL: 41.2, fuelSaveToSkipStopLpl: null, stopsRemaining: 1, at: new Date().toISOString() };
    const { api } = fakeAgent({ status: agentStatus({ plan }), messages: [{ type: 'ai_coaching', data: coaching({ feedback: 'Turn 3: brake 20 metres later.' }) }] });
    render(<DriverApp api={api} pollMs={60_000} />);
    await screen.findByTestId('lap');
    await waitFor(() => expect(screen.getByTestId('lap')).toHaveTextContent('12'));
    expect(screen.getByTestId('position')).toHaveTextContent('P4');
    expect(screen.getByTestId('gap-ahead')).toHaveTextContent('1.2 s');
    expect(screen.getByTestId('gap-behind')).toHaveTextContent('0.8 s');
    expect(screen.getByTestId('fuel-laps')).toHaveTextContent('8.3');
    expect(screen.getByTestId('last-lap')).toHaveTextContent('1:25.432');
    expect(screen.getByTestId('best-lap')).toHaveTextContent('1:24.900');
    expect(screen.getByTestId('speed')).toHaveTextContent('212 km/h');
    expect(screen.getByTestId('plan')).toHaveTextContent('Plan: box laps 18–20, 42 L, 30 laps to go');
    expect(within(screen.getByTestId('coaching')).getByText(/brake 20 metres later/)).toBeInTheDocument();
    for (const k of ['sim', 'relay', 'cloud', 'voice']) expect(screen.getByTestId(`pill-${k}`)).toHaveClass('ok');
  });

  it('a stale plan is marked; no telemetry yet is said', async () => {
    const plan = { lap: 2, lapsRemaining: 3, fuelLapsLeft: 4, pitWindow: null, nextStopFuelL: null, fuelSaveToSkipStopLpl: null, stopsRemaining: 0, at: new Date(Date.now() - 200_000).toISOString() };
    const { api } = fakeAgent({ status: agentStatus({ plan }), current: null });
    render(<DriverApp api={api} pollMs={60_000} />);
    await screen.findByText('No telemetry yet: the sim has not sent a sample.');
    expect(screen.getByTestId('fuel-laps')).toHaveTextContent('4.0 (stale)');
    expect(screen.getByTestId('plan')).toHaveTextContent('no stop needed');
  });

  it('asks the driver when the pit wall wants their screen: Send my screen or Not now; Stop sending while it goes', async () => {
    const videoRequest = { id: 'vid-1', senderName: 'eng', timestamp: '2026-12-07T20:00:00Z' };
    const { api, posts } = fakeAgent({ status: agentStatus({ videoRequest }) });
    render(<DriverApp api={api} pollMs={60_000} />);
    await waitFor(() => expect(screen.getByTestId('video-ask')).toHaveTextContent('eng asks for your screen'));
    fireEvent.click(screen.getByRole('button', { name: 'Send my screen' }));
    await waitFor(() => expect(posts).toEqual([{ path: '/api/video', body: { send: true } }]));
    fireEvent.click(screen.getByRole('button', { name: 'Not now' }));
    await waitFor(() => expect(posts[1]).toEqual({ path: '/api/video', body: { send: false } }));

    history.replaceState(null, '', '/#/status');
    const video = { source: 'test-pattern', size: '1280x720', fps: 30, bitrateBps: 3e6, sending: true, paused: false, framesSent: 90, framesDropped: 0, error: null };
    const sending = fakeAgent({ status: agentStatus({ video }) });
    render(<DriverApp api={sending.api} pollMs={60_000} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Stop sending my screen' }));
    await waitFor(() => expect(sending.posts).toEqual([{ path: '/api/video', body: { send: false } }]));
  });

  it('video off but set up: Status offers Send my screen and says what it captures', async () => {
    history.replaceState(null, '', '/#/status');
    const { api, posts } = fakeAgent({ status: agentStatus({ video: null, videoReady: 'monitor:2' }) });
    render(<DriverApp api={api} pollMs={60_000} />);
    const button = await screen.findByRole('button', { name: 'Send my screen' });
    expect(screen.getByText(/Settings choose what is captured \(monitor:2\)/)).toBeInTheDocument();
    fireEvent.click(button);
    await waitFor(() => expect(posts).toEqual([{ path: '/api/video', body: { send: true } }]));
  });

  it('Status: each line with its reason, the counters, and Cancel pit stop', async () => {
    history.replaceState(null, '', '/#/status');
    const pitCommand = { id: 'pit-1', summary: '42 litres, four tyres', applied: true, target: 'the simulator' };
    const { api, posts } = fakeAgent({ status: agentStatus({ relayState: 'disconnected', pitCommand }), voice: { ...voiceOk, enabled: false } });
    render(<DriverApp api={api} pollMs={60_000} />);
    await waitFor(() => expect(screen.getByTestId('status-relay')).toHaveTextContent('disconnected — the relay cannot be reached: connecting again'));
    expect(screen.getByTestId('status-voice')).toHaveTextContent('off — callouts and voice commands are off');
    expect(screen.getByTestId('samples-sent')).toHaveTextContent('4,321');
    expect(screen.getByTestId('pit-stop')).toHaveTextContent('42 litres, four tyres — set in the simulator');
    fireEvent.click(screen.getByRole('button', { name: 'Cancel pit stop' }));
    await waitFor(() => expect(posts).toEqual([{ path: '/api/pit/clear', body: undefined }]));
  });

  it('a pending handoff for this driver: one click sends exactly the answer; then it is gone', async () => {
    const { api, posts } = fakeAgent({
      status: agentStatus(),
      messages: [
        { type: 'handoff_request', data: handoff({ id: 'ho-7', targetDriverId: 'drv-2', reason: 'planned stint change' }) },
        { type: 'handoff_request', data: handoff({ id: 'ho-8', targetDriverId: 'someone-else', reason: 'not yours' }) },
      ],
    });
    render(<DriverApp api={api} pollMs={60_000} />);
    await screen.findByText(/planned stint change/);
    expect(screen.getAllByRole('button', { name: 'Accept' })).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Accept' })).toBeNull());
    expect(posts).toEqual([{ path: '/api/handoff/ho-7', body: { status: 'accepted' } }]);
    expect(screen.getByTestId('error')).toHaveTextContent('');
  });

  it('reply: typed or one click, exactly the text; a refusal is shown and the draft kept', async () => {
    let refuse = false;
    const { api, posts } = fakeAgent(
      { status: agentStatus(), messages: [{ type: 'team_message', data: message({ id: 'm-1', content: 'Push now, gap is closing', senderName: 'Sam' }) }, { type: 'team_message', data: message({ id: 'm-2', content: 'On it', senderId: 'drv-2', senderName: 'jo' }) }] },
      () => (refuse ? json({ error: 'the relay queue is full or closed: the reply was not sent' }, 503) : json({}, 202)),
    );
    render(<DriverApp api={api} pollMs={60_000} />);
    const radio = await screen.findByTestId('radio');
    expect(within(radio).getByText(/Push now, gap is closing/)).toBeInTheDocument();
    expect(within(radio).getByText('You')).toBeInTheDocument(); // the driver's own message
    const box = screen.getByLabelText('Reply to the team');
    expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled();
    fireEvent.change(box, { target: { value: '  tyres are going off  ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    await waitFor(() => expect(box).toHaveValue(''));
    fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    await waitFor(() => expect(posts).toHaveLength(2));
    expect(posts).toEqual([
      { path: '/api/messages/reply', body: { content: 'tyres are going off' } },
      { path: '/api/messages/reply', body: { content: 'Copy' } },
    ]);
    refuse = true;
    fireEvent.change(box, { target: { value: 'lost' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    await waitFor(() => expect(screen.getByTestId('error')).toHaveTextContent('the relay queue is full or closed'));
    expect(box).toHaveValue('lost');
  });

  it('an agent that does not answer is said, and the screens switch by link', async () => {
    const f = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    render(<DriverApp api={new LocalApi(f as unknown as typeof fetch)} pollMs={60_000} />);
    await waitFor(() => expect(screen.getByTestId('error')).toHaveTextContent('The agent does not answer: Failed to fetch'));
    const { api } = fakeAgent({ status: agentStatus() });
    render(<DriverApp api={api} pollMs={60_000} />);
    await waitFor(() => expect(screen.getAllByRole('link', { name: 'Live' }).at(-1)).toHaveAttribute('aria-current', 'page'));
    act(() => {
      fireEvent.click(screen.getAllByRole('link', { name: 'Status' }).at(-1)!);
    });
    await screen.findByTestId('status-sim');
  });

  it('Sign in: sends exactly the form, says a restart is needed, then signs out', async () => {
    history.replaceState(null, '', '/#/signin');
    const { api, posts } = fakeAgent({ status: agentStatus({ login: null, relayState: 'off' }) }, (path, body) => (path === '/api/login' ? json(body === undefined ? { ...signedOut, cloudSignOut: 'not ended at the cloud (the cloud could not be reached): it lapses when its token expires' } : signedIn) : json({}, 404)));
    render(<DriverApp api={api} pollMs={60_000} />);
    await waitFor(() => expect(screen.getByTestId('login-state')).toHaveTextContent('Not signed in: nothing goes to the team.'));
    expect(screen.queryByRole('button', { name: 'Sign out' })).toBeNull();
    const submit = screen.getByRole('button', { name: 'Sign in' });
    expect(submit).toBeDisabled();
    fireEvent.change(screen.getByLabelText("Team's PitBox address"), { target: { value: 'pitbox.myteam.com' } });
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ana' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'a long password' } });
    fireEvent.click(submit);
    await waitFor(() => expect(screen.getByTestId('login-state')).toHaveTextContent('Signed in as ana at https://pitbox.myteam.com. Start PitBox Driver again to stream with this sign-in.'));
    expect(screen.getByLabelText('Password')).toHaveValue('');
    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    await waitFor(() => expect(screen.getByTestId('login-state')).toHaveTextContent('Not signed in'));
    expect(screen.getByTestId('cloud-sign-out')).toHaveTextContent('Signed out on this PC, but not ended at the cloud (the cloud could not be reached): it lapses when its token expires.');
    expect(posts).toEqual([
      { path: '/api/login', body: { cloud: 'pitbox.myteam.com', username: 'ana', password: 'a long password' } },
      { path: '/api/login', body: undefined, method: 'DELETE' },
    ]);
  });

  it('Sign in: the cloud’s refusal is shown and nothing changes', async () => {
    history.replaceState(null, '', '/#/signin');
    const { api } = fakeAgent({ status: agentStatus() }, () => json({ error: 'the cloud refused the login: wrong username or password' }, 422));
    render(<DriverApp api={api} pollMs={60_000} />);
    await screen.findByTestId('login-state');
    fireEvent.change(screen.getByLabelText("Team's PitBox address"), { target: { value: 'https://x' } });
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ana' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByTestId('error')).toHaveTextContent('/api/login: the cloud refused the login: wrong username or password'));
    expect(screen.getByTestId('login-state')).toHaveTextContent('Not signed in');
    expect(screen.getByLabelText('Password')).toHaveValue('nope');
  });
});
