// @vitest-environment jsdom
// The Settings screen of the driver's window (issue 22 §1) against a recorded local API: what it
// shows, and exactly what the driver's clicks send to the agent.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalApi, type DriverSettings, type SettingsView } from './api';
import { DriverApp } from './DriverApp';
import { captureOptions, restartSentence } from './SettingsScreen';

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });

const settings: DriverSettings = {
  voiceEngine: 'espeak-ng',
  voiceId: 'default',
  speed: 1.1,
  sensitivity: 0.5,
  callouts: { voice: true, spotter: true, cues: true },
  output: '/home/jo/callouts',
  input: null,
  ptt: [],
};
const view: SettingsView = {
  settings,
  configFile: '/home/jo/.local/share/pitbox/driver/pitbox.toml',
  engines: ['auto', 'windows', 'espeak-ng', 'cloud', 'elevenlabs'],
  devices: { soundCard: false, outputs: [], inputs: [], note: 'this PitBox was built without the sound-card feature' },
  restartNeeded: [],
};
const status = {
  source: 'sim', sourceState: 'connected', relayConnected: true, relayConnects: 1, telemetrySent: 1, sequence: 1, driverId: 'drv-2',
  relayState: 'ok', samplesRefused: 0, lastRefusal: null, login: null, pitCommand: null, race: null, plan: null, spool: null,
  upstream: 'relay', lastAckedSequence: 1,
};

/** A fake agent: the reads from fixed answers; every write recorded and answered by `writes`. */
function fakeAgent(writes: (method: string, path: string, body: unknown) => Response) {
  const sent: { method: string; path: string; body: unknown }[] = [];
  const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = String(input);
    const method = init?.method ?? 'GET';
    if (method !== 'GET') {
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      sent.push({ method, path, body });
      return writes(method, path, body);
    }
    switch (path) {
      case '/api/status':
        return json(status);
      case '/api/messages':
        return json([]);
      case '/api/settings':
        return json(view);
      case '/api/ptt/test':
        return json({ lastPress: { at: '2026-12-07T17:00:00Z', pressed: true }, lastHeard: { at: '2026-12-07T17:00:01Z', origin: 'microphone', words: 'box this lap', phrase: 'box this lap', confidence: 0.9, answers: ['Box this lap, copy.'] } });
      default:
        return json({ error: 'no' }, 503);
    }
  });
  return { api: new LocalApi(f as unknown as typeof fetch), sent };
}

beforeEach(() => {
  history.replaceState(null, '', '/#/settings');
});

describe('Settings', () => {
  it('changes the voice, captures a wheel button and saves exactly that; says what needs a restart', async () => {
    const { api, sent } = fakeAgent((method, path, body) => {
      if (path === '/api/ptt/capture') return json({ binding: 'joystick:/dev/input/js0:5', listened: ['joystick /dev/input/js0'] });
      if (method === 'PUT') return json({ ...view, settings: body, restartNeeded: ['ptt'] });
      return json({ error: 'no' }, 500);
    });
    render(<DriverApp api={api} pollMs={60_000} />);
    await screen.findByTestId('settings');
    expect(screen.getByTestId('devices-note')).toHaveTextContent('built without the sound-card feature');
    const save = screen.getByRole('button', { name: 'Save' });
    expect(save).toBeDisabled();
    fireEvent.change(screen.getByLabelText('Voice', { selector: 'input' }), { target: { value: 'engineer-uk' } });
    fireEvent.change(screen.getByLabelText(/^Speed/), { target: { value: '1.4' } });
    fireEvent.click(screen.getByLabelText('Spotter (car left, clear)'));
    fireEvent.click(screen.getByRole('button', { name: 'Set a button' }));
    await waitFor(() => expect(screen.getByTestId('settings-note')).toHaveTextContent('Heard joystick:/dev/input/js0:5. Save to keep it.'));
    expect(within(screen.getByTestId('ptt-bindings')).getByText('joystick:/dev/input/js0:5')).toBeInTheDocument();
    expect(screen.getByText('Not saved yet.')).toBeInTheDocument();
    fireEvent.click(save);
    await waitFor(() => expect(screen.getByTestId('settings-note')).toHaveTextContent('Saved. PitBox Driver uses the new push-to-talk buttons when it starts again.'));
    expect(sent).toEqual([
      { method: 'POST', path: '/api/ptt/capture', body: {} },
      {
        method: 'PUT',
        path: '/api/settings',
        body: { ...settings, voiceId: 'engineer-uk', speed: 1.4, callouts: { voice: true, spotter: false, cues: true }, ptt: ['joystick:/dev/input/js0:5'] },
      },
    ]);
    expect(save).toBeDisabled();
  });

  it('shows the agent’s refusal, a capture nobody pressed, test voice and what was heard', async () => {
    const { api } = fakeAgent((_method, path) => {
      if (path === '/api/ptt/capture') return json({ binding: null, reason: 'no button was pressed within 10s: press the button while the window waits' });
      if (path === '/api/settings/test-voice') return json({ error: 'callouts cannot be spoken here: espeak-ng is not installed' }, 503);
      return json({ error: 'speed: must be between 0.5 and 2.0, got 3; voiceId: empty', errors: [] }, 422);
    });
    render(<DriverApp api={api} pollMs={60_000} />);
    await screen.findByTestId('settings');
    fireEvent.click(screen.getByRole('button', { name: 'Set a button' }));
    await waitFor(() => expect(screen.getByTestId('settings-note')).toHaveTextContent('no button was pressed within 10s'));
    expect(screen.queryByTestId('ptt-bindings')).toBeNull();
    fireEvent.change(screen.getByLabelText('Voice', { selector: 'input' }), { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByTestId('error')).toHaveTextContent('/api/settings: speed: must be between 0.5 and 2.0, got 3; voiceId: empty'));
    expect(screen.getByText('Not saved yet.')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Test voice' }));
    await waitFor(() => expect(screen.getByTestId('error')).toHaveTextContent('espeak-ng is not installed'));
    fireEvent.click(screen.getByRole('button', { name: 'What was heard' }));
    await waitFor(() => expect(screen.getByTestId('ptt-test')).toHaveTextContent('"box this lap" → box this lap: Box this lap, copy.'));
  });

  it('video: offers the open windows and the monitors, saves the choice exactly; a restart is named', async () => {
    const video = { capture: 'window:iRacing.com Simulator', atStart: false, size: '1280x720', fps: 30, bitrate: 3_000_000, encoder: 'auto' };
    const videoTargets = {
      windows: ['Discord', 'iRacing.com Simulator'],
      monitors: [
        { source: 'monitor:1', name: 'DELL U2720Q', width: 3840, height: 2160 },
        { source: 'monitor:2', name: 'LG ULTRAGEAR', width: 2560, height: 1440 },
      ],
      note: null,
    };
    const withVideo = { ...view, settings: { ...settings, video }, videoTargets };
    const sent: unknown[] = [];
    const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const path = String(input);
      if (init?.method === 'PUT') {
        const body = JSON.parse(String(init.body)) as DriverSettings;
        sent.push(body);
        return json({ ...withVideo, settings: body, restartNeeded: ['video'] });
      }
      if (path === '/api/settings') return json(withVideo);
      if (path === '/api/status') return json(status);
      if (path === '/api/messages') return json([]);
      return json({ error: 'no' }, 503);
    });
    render(<DriverApp api={new LocalApi(f as unknown as typeof fetch)} pollMs={60_000} />);
    const section = await screen.findByTestId('video-settings');
    const capture = within(section).getByLabelText('Capture') as HTMLSelectElement;
    expect([...capture.options].map((o) => o.textContent)).toEqual([
      'The iRacing window',
      'Monitor 1: DELL U2720Q (3840×2160)',
      'Monitor 2: LG ULTRAGEAR (2560×1440)',
      'Window: Discord',
      'Test pattern (colour bars)',
    ]);
    fireEvent.change(capture, { target: { value: 'monitor:2' } });
    fireEvent.change(within(section).getByLabelText('Frames per second'), { target: { value: '60' } });
    fireEvent.change(within(section).getByLabelText('Picture size'), { target: { value: '1920x1080' } });
    fireEvent.change(within(section).getByLabelText(/^Bitrate/), { target: { value: '6' } });
    fireEvent.click(within(section).getByLabelText(/Send my screen from the start/));
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByTestId('settings-note')).toHaveTextContent('Saved. PitBox Driver uses the new video settings when it starts again.'));
    expect(sent).toEqual([{ ...settings, video: { capture: 'monitor:2', atStart: true, size: '1920x1080', fps: 60, bitrate: 6_000_000, encoder: 'auto' } }]);
  });

  it('video: a choice not open now is kept and said; off Windows only the test pattern, with why', () => {
    expect(captureOptions('window:F1 24', { windows: [], monitors: [], note: null }).map((o) => o.label)).toEqual([
      'The iRacing window (not open now)',
      'Window: F1 24 (not open now)',
      'Test pattern (colour bars)',
    ]);
    expect(captureOptions('monitor:3', { windows: ['iRacing.com Simulator'], monitors: [], note: null }).map((o) => o.value)).toEqual([
      'window:iRacing.com Simulator',
      'monitor:3',
      'test-pattern',
    ]);
    expect(captureOptions('test-pattern', { windows: [], monitors: [], note: 'window and monitor capture run on Windows only' })).toEqual([
      { value: 'test-pattern', label: 'Test pattern (colour bars)' },
    ]);
  });

  it('names what needs a restart in plain words', () => {
    expect(restartSentence([])).toBe('Saved and in use.');
    expect(restartSentence(['voiceEngine', 'input', 'ptt'])).toBe('Saved. PitBox Driver uses the new voice engine, input and push-to-talk buttons when it starts again.');
  });
});
