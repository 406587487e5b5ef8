// @vitest-environment jsdom
// The Settings screen of the driver's window (issue 22 §1) against a recorded local API: what it
// shows, and exactly what the driver's clicks send to the agent.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalApi, type DriverSettings, type SettingsView } from './api';
import { DriverApp } from './DriverApp';
import { restartSentence } from './SettingsScreen';

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

  it('names what needs a restart in plain words', () => {
    expect(restartSentence([])).toBe('Saved and in use.');
    expect(restartSentence(['voiceEngine', 'input', 'ptt'])).toBe('Saved. PitBox Driver uses the new voice engine, input and push-to-talk buttons when it starts again.');
  });
});
