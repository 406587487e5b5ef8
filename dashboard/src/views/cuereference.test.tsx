// @vitest-environment jsdom
// The cue reference in the History view: engineers and admins choose a lap of the team's history
// as the one a driver's in-car cues are made against (PUT/DELETE /api/drivers/{id}/cue-reference).
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { DriverProfile } from '../protocol/types';
import { applyMessages, applyProfiles, initialState } from '../store/app';
import { apiLap, apiSession } from '../test/factories';
import { renderWith } from '../test/render';
import { schemaErrors } from '../test/schema';
import { History } from './History';

const profile = (id: string, name: string, role: DriverProfile['role']): DriverProfile => ({ id, name, team: 'Apex', number: 23, status: 'standby', role, avatarUrl: '', telemetryConnected: false, lastActive: '2026-11-26T16:00:00Z' });
const PROFILES = [profile('drv-1', 'Alex Driver', 'primary'), profile('drv-2', 'Jo Relief', 'secondary')];
const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });
const notFound = (message: string) => json({ error: { code: 'not_found', message } }, 404);

const EVENT = {
  id: 'ev-1',
  teamId: 'team-1',
  track: 'Tsukuba Circuit 1k Outer',
  car: 'Formula Vee',
  sessionTypes: ['Offline Testing'],
  sessionCount: 1,
  driverIds: ['drv-1'],
  startedAt: '2025-01-30T16:09:29Z',
  lastSeenAt: '2025-01-30T16:10:26Z',
  sessions: [apiSession({ id: 's1', track: 'Tsukuba Circuit 1k Outer', sessionType: 'Offline Testing', source: 'import' })],
  stints: [],
  standings: [],
};
const LAPS = [
  apiLap(0, { lapTime: null, complete: false, valid: false, invalid: ['incomplete', 'pit road'], outLap: true, sectors: [] }),
  apiLap(1, { lapTime: 25.914499282836914, valid: false, invalid: ['pit road'], outLap: true }),
  apiLap(2, { lapTime: 23.9797 }),
];
/** Jo's cues already use another evening's lap; Alex's use their own best lap (404). */
const JO_REF = { driverId: 'drv-2', lapId: 'l-old', name: 'lap 5 of kim at Tsukuba', lapTimeS: 24.1234, setBy: 'eng-2', timestamp: '2026-11-25T20:00:00Z' };

type Call = { url: string; method: string; body: unknown };

function cloud() {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({ url, method, body });
    if (url === '/api/events') return json([{ ...EVENT, sessions: undefined, stints: undefined, standings: undefined }]);
    if (url === '/api/events/ev-1') return json(EVENT);
    if (url === '/api/sessions/s1/laps') return json(LAPS);
    const m = url.match(/^\/api\/drivers\/([^/]+)\/cue-reference$/);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (method === 'GET') return id === 'drv-2' ? json(JO_REF) : notFound(`${id} has no chosen cue reference: the driver's own best valid lap is used`);
      if (method === 'DELETE') return new Response(null, { status: 204 });
      if (method === 'PUT') {
        const lapId = (body as { lapId: string }).lapId;
        if (lapId === 'l2') return json({ driverId: id, lapId, name: 'lap 2 of alex at Tsukuba', lapTimeS: 23.9797, setBy: 'eng-1', timestamp: '2026-11-26T16:05:40Z' });
        return json({ error: { code: 'validation_failed', message: 'lap 1 is not a valid lap (pit road): cues need a clean reference', field: 'lapId' } }, 400);
      }
    }
    return notFound('no such route');
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const state = (role: string) => ({ ...applyProfiles(initialState, PROFILES), me: { id: role === 'driver' ? 'drv-1' : 'eng-1', username: role === 'driver' ? 'alex' : 'sam', role } });

describe('History: cue reference', () => {
  it('engineer: chooses a lap for a driver (PUT {lapId}), sees the confirmation and what is in force; a refusal shows the server message; back to the own best lap (DELETE)', async () => {
    const c = cloud();
    const { store } = renderWith(<History />, { fetch: c.fetch, state: state('engineer') });
    // What is in force per driver: read from the cloud.
    const panel = await screen.findByTestId('cue-references');
    await waitFor(() => expect(within(panel).getByTestId('cue-ref-drv-1')).toHaveTextContent('Alex Driver — Cue reference: own best lap'));
    await waitFor(() => expect(within(panel).getByTestId('cue-ref-drv-2')).toHaveTextContent('Jo Relief — Cue reference: lap 5 of kim at Tsukuba, 0:24.123 — set by eng-2 at 2026-11-25 20:00'));
    expect(within(within(panel).getByTestId('cue-ref-drv-1')).queryByRole('button')).toBeNull();

    const table = await screen.findByTestId('lap-table');
    // Only complete laps can be chosen: the incomplete lap 0 has no control.
    expect(within(within(table).getByTestId('lap-0')).queryByLabelText(/Cue reference for…/)).toBeNull();
    const lap2 = within(within(table).getByTestId('lap-2'));
    const pick = lap2.getByLabelText(/Cue reference for…/);
    expect(pick).toHaveAccessibleName(/^Cue reference for… ?\(lap 2\)$/);
    expect(within(pick).getAllByRole('option').map((o) => o.textContent)).toEqual(['Alex Driver', 'Jo Relief']);
    fireEvent.change(pick, { target: { value: 'drv-2' } });
    fireEvent.click(lap2.getByRole('button', { name: 'Use lap 2 for cues' }));
    expect(await screen.findByTestId('cue-result')).toHaveTextContent('Cues for Jo Relief are now made against lap 2 (0:23.980)');
    expect(screen.getByTestId('cue-result')).toHaveAttribute('role', 'status');
    const puts = c.calls.filter((x) => x.method === 'PUT');
    expect(puts).toEqual([{ url: '/api/drivers/drv-2/cue-reference', method: 'PUT', body: { lapId: 'l2' } }]);
    await waitFor(() => expect(within(panel).getByTestId('cue-ref-drv-2')).toHaveTextContent('Cue reference: lap 2 of alex at Tsukuba, 0:23.980 — set by sam at 2026-11-26 16:05'));

    // The out lap (pit road): the cloud refuses it and says why.
    const lap1 = within(within(table).getByTestId('lap-1'));
    fireEvent.click(lap1.getByRole('button', { name: 'Use lap 1 for cues' }));
    const refused = await screen.findByRole('alert');
    expect(refused).toHaveTextContent("Lap 1 was not chosen for Alex Driver's cues: lap 1 is not a valid lap (pit road): cues need a clean reference");
    expect(c.calls.filter((x) => x.method === 'PUT')[1]).toEqual({ url: '/api/drivers/drv-1/cue-reference', method: 'PUT', body: { lapId: 'l1' } });
    // Nothing changed for Alex.
    expect(within(panel).getByTestId('cue-ref-drv-1')).toHaveTextContent('own best lap');

    // Back to Jo's own best lap.
    fireEvent.click(within(panel).getByRole('button', { name: 'Use own best lap for Jo Relief' }));
    await waitFor(() => expect(within(panel).getByTestId('cue-ref-drv-2')).toHaveTextContent('Jo Relief — Cue reference: own best lap'));
    expect(within(panel).getByTestId('cue-ref-result')).toHaveTextContent('Cues for Jo Relief are made against their own best lap again.');
    expect(c.calls.filter((x) => x.method === 'DELETE')).toEqual([{ url: '/api/drivers/drv-2/cue-reference', method: 'DELETE', body: undefined }]);

    // Another pit-wall browser's choice arrives as a `cue_reference` message and is shown.
    const msg = { driverId: 'drv-1', lapId: 'l2', name: 'lap 2 of alex at Tsukuba', lapTimeS: 23.9797, setBy: 'drv-2', timestamp: '2026-11-26T16:30:00Z' };
    expect(schemaErrors({ type: 'cue_reference', data: msg })).toEqual([]);
    act(() => store.setState((s) => applyMessages(s, [{ type: 'cue_reference', data: msg }], Date.now())));
    expect(within(panel).getByTestId('cue-ref-drv-1')).toHaveTextContent('Cue reference: lap 2 of alex at Tsukuba, 0:23.980 — set by Jo Relief');
  });

  it.each(['viewer', 'driver'])('%s: no cue reference controls, and nothing asked of the cloud', async (role) => {
    const c = cloud();
    renderWith(<History />, { fetch: c.fetch, state: state(role) });
    const table = await screen.findByTestId('lap-table');
    expect(within(table).getByTestId('lap-2')).toHaveTextContent('0:23.980');
    expect(within(table).queryByLabelText(/Cue reference for…/)).toBeNull();
    expect(within(table).queryByRole('button', { name: /for cues/ })).toBeNull();
    expect(within(table).queryByRole('columnheader', { name: 'Cue reference' })).toBeNull();
    expect(screen.queryByTestId('cue-references')).toBeNull();
    expect(c.calls.filter((x) => x.url.includes('cue-reference'))).toEqual([]);
  });
});
