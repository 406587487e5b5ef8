// @vitest-environment jsdom
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthManager } from '../api/auth';
import { DEFAULT_CONFIG } from '../api/endpoints';
import type { Plan, PlanRequest, StoredPlan } from '../api/strategy';
import { App } from '../App';
import type { DriverProfile } from '../protocol/types';
import { applyProfiles, initialState } from '../store/app';
import { strategyUpdate } from '../test/factories';
import { fakeJwt } from '../test/jwt';
import { asWS, MockSocket } from '../test/mockSocket';
import { renderWith } from '../test/render';
import { Strategy } from './Strategy';

const profile = (id: string, name: string, role: DriverProfile['role']): DriverProfile => ({ id, name, team: 'Apex', number: 23, status: 'standby', role, avatarUrl: '', telemetryConnected: false, lastActive: '2026-11-26T16:00:00Z' });
const PROFILES = [profile('drv-2', 'Jo Relief', 'secondary'), profile('drv-1', 'Alex Driver', 'primary')];

const request: PlanRequest = { race: { laps: 100 }, lapTimeS: 90, fuelPerLapL: 3, tankL: 140, pitLaneS: 28, refuelLps: 2, tyreChangeS: 20, drivers: [{ id: 'drv-1' }, { id: 'drv-2' }] };
const plan: Plan = {
  raceLaps: 100,
  stops: 2,
  stationaryS: 80,
  totalRaceTimeS: 9000 + 136,
  finishFuelL: 3,
  stints: [
    { driverId: 'drv-1', startLap: 1, endLap: 45, laps: 45, startFuelL: 140, fuelAddedL: 0, newTyres: false, pitStopS: 0 },
    { driverId: 'drv-2', startLap: 46, endLap: 90, laps: 45, startFuelL: 138, fuelAddedL: 135, newTyres: true, pitStopS: 95.5 },
    { driverId: 'drv-1', startLap: 91, endLap: 100, laps: 10, startFuelL: 33, fuelAddedL: 30, newTyres: true, pitStopS: 48 },
  ],
};
const stored: StoredPlan = { ...plan, request, teamId: 'team-apex', plannedBy: 'eng-1', plannedAt: '2026-11-26T15:00:00Z' };

type Handler = (url: string, init: RequestInit | undefined) => Response | undefined;
const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });

/** A cloud stand-in: routes by URL, 404 for the rest; every call recorded. */
function server(h: Handler) {
  return vi.fn(async (url: string, init?: RequestInit) => h(url, init) ?? json({ error: { code: 'not_found', message: 'no' } }, 404));
}

beforeEach(() => {
  MockSocket.reset();
  history.replaceState(null, '', '/strategy');
});

describe('Strategy view', () => {
  it('engineer: stored plan as a timeline and a table, live numbers from strategy_update, a what-if against the live plan', async () => {
    const fetch = server((url, init) => {
      if (url === '/api/strategy/plan' && !init?.method) return json(stored);
      if (url === '/api/drivers') return json(PROFILES);
      if (url === '/api/strategy/plan?dryRun=true' && init?.method === 'POST') {
        const body = JSON.parse(String(init.body)) as PlanRequest;
        // Stop now: 60 laps from a full tank: one stop instead of the live plan's one, 12 s slower.
        return json({ ...plan, raceLaps: 60, stops: 1, totalRaceTimeS: 5521 + 12, stints: [{ ...plan.stints[0]!, endLap: 44, laps: 44, startFuelL: body.startFuelL! }, { ...plan.stints[1]!, startLap: 45, endLap: 60, laps: 16 }] });
      }
      return undefined;
    });
    const auth = new AuthManager({ storage: null, fetch: fetch as unknown as typeof globalThis.fetch });
    auth.loginWithToken(fakeJwt({ sub: 'eng-1', role: 'engineer', name: 'sam', exp: Math.floor(Date.now() / 1000) + 3600 }));
    render(<App auth={auth} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    const ws = MockSocket.last();
    act(() => ws.accept());
    // The dashboard subscribes to the strategy channel.
    expect(ws.sent.find((m) => m.type === 'subscribe')?.data.channels).toContain('strategy');
    expect(screen.getByRole('link', { name: 'Strategy' })).toHaveAttribute('aria-current', 'page');

    const timeline = await screen.findByTestId('timeline-plan');
    const segs = within(timeline).getAllByTestId('stint-seg');
    expect(segs).toHaveLength(3);
    await waitFor(() => expect(segs[0]).toHaveTextContent('Alex Driver · 45 laps'));
    expect(segs[1]).toHaveTextContent('Jo Relief · 45 laps');
    expect(segs[0]!.style.background).toBe(segs[2]!.style.background);
    expect(segs[0]!.style.background).not.toBe(segs[1]!.style.background);
    expect(screen.getByTestId('plan-stops')).toHaveTextContent('2');
    expect(screen.getByTestId('plan-total')).toHaveTextContent('2:32:16');
    const rows = screen.getAllByTestId('stint-row');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toHaveTextContent('Jo Relief46–90 (45)138.0 L135.0 Lyes95.5 s');
    // The form shows the stored request.
    expect(screen.getByLabelText('Tank (L)')).toHaveValue('140');
    expect(screen.getByLabelText('Race length in')).toHaveValue('laps');
    expect(screen.getByRole('button', { name: 'Make plan' })).toBeEnabled();

    expect(screen.getByTestId('no-live')).toHaveTextContent(/no live plan yet — it starts after the first lap of a car with a stored plan/i);
    act(() => ws.frame('strategy_update', strategyUpdate()));
    await screen.findByTestId('live-window');
    expect(screen.getByTestId('live-window')).toHaveTextContent('laps 48–57');
    expect(screen.getByTestId('live-fuel-laps')).toHaveTextContent('18.3 laps');
    expect(screen.getByTestId('live-next-fuel')).toHaveTextContent('60.0 L');
    expect(screen.getByTestId('live-save')).toHaveTextContent('0.25 L/lap');
    expect(screen.getByTestId('live-laps-remaining')).toHaveTextContent('60 sim');
    expect(screen.getByTestId('live-fuel-per-lap')).toHaveTextContent('3.00 L measured');
    expect(screen.getByTestId('live-lap-time')).toHaveTextContent('1:30.500 measured');
    expect(screen.getByTestId('live-pit-lane')).toHaveTextContent('28.0 s plan');
    expect(screen.queryByTestId('stale')).toBeNull();
    const live = screen.getByTestId('timeline-live');
    expect(within(live).getAllByTestId('stint-seg').map((s) => s.textContent)).toEqual(['Alex Driver · 17 laps', 'Jo Relief · 43 laps']);
    expect(within(live).getByText('done')).toBeInTheDocument();

    // What-if from the live plan's basis, as a dry run: a full tank now.
    fireEvent.click(screen.getByRole('button', { name: 'Stop now' }));
    const diff = await screen.findByTestId('whatif-diff');
    const call = fetch.mock.calls.find(([u]) => u === '/api/strategy/plan?dryRun=true')!;
    expect(JSON.parse(String(call[1]!.body))).toMatchObject({ race: { laps: 60 }, startFuelL: 140, tankL: 140 });
    // 1 stop planned + the stop now = 2 against the live plan's 1; 12 s + 28 s lane + (140 − 55) / 2 s filling.
    expect(diff).toHaveTextContent('+1 stop, +82.5 s');
    const w = screen.getByTestId('timeline-whatif');
    expect(within(w).getAllByTestId('stint-seg')[0]).toHaveAttribute('aria-label', 'Stint 1: Alex Driver, laps 41–84');
    // The stored plan was not replaced.
    expect(fetch.mock.calls.filter(([u, i]) => u === '/api/strategy/plan' && i?.method === 'POST')).toHaveLength(0);
  });

  it('marks the live numbers stale after 3 minutes', () => {
    const u = strategyUpdate({ pitWindow: undefined, fuelSaveToSkipStopLpl: undefined, nextStopFuelL: undefined });
    renderWith(<Strategy />, { state: { strategy: { 'team-apex/drv-1': { update: u, at: Date.now() - 4 * 60_000 } } } });
    expect(screen.getByTestId('live-window')).toHaveTextContent('no stop needed');
    expect(screen.queryByTestId('live-save')).toBeNull();
    expect(screen.getByTestId('stale')).toHaveTextContent('stale · 4 min old');
  });

  it('a driver reads the plan but cannot edit it or run what-ifs', async () => {
    const fetch = server((url) => (url === '/api/strategy/plan' ? json(stored) : undefined));
    renderWith(<Strategy />, {
      fetch: fetch as unknown as typeof globalThis.fetch,
      state: { ...applyProfiles(initialState, PROFILES), me: { id: 'drv-1', username: 'alex', role: 'driver' } },
    });
    await screen.findByTestId('timeline-plan');
    expect(screen.getByLabelText('Tank (L)')).toBeDisabled();
    expect(screen.getByLabelText('Driver 1')).toBeDisabled();
    expect(screen.queryByRole('button', { name: 'Make plan' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Remove driver/ })).toBeNull();
    expect(screen.getByRole('note')).toHaveTextContent('Read-only');
    expect(screen.queryByRole('heading', { name: 'What-ifs' })).toBeNull();
  });

  it("no plan yet: says so, prefills the team's drivers; a 400 is shown at the field it names", async () => {
    const posted: PlanRequest[] = [];
    const fetch = server((url, init) => {
      if (url !== '/api/strategy/plan') return undefined;
      if (init?.method !== 'POST') return json({ error: { code: 'not_found', message: 'this team has no plan yet' } }, 404);
      const body = JSON.parse(String(init.body)) as PlanRequest;
      posted.push(body);
      if (posted.length === 1) return json({ error: { code: 'validation_failed', message: 'drv-1 is listed twice', field: 'drivers[1].id' } }, 400);
      if (posted.length === 2) return json({ error: { code: 'plan_infeasible', message: 'the drivers cannot all drive their minimum', field: 'minDriverMinutes' } }, 400);
      return json(plan);
    });
    renderWith(<Strategy />, { fetch: fetch as unknown as typeof globalThis.fetch, state: applyProfiles(initialState, PROFILES) });
    expect(await screen.findByTestId('no-plan')).toHaveTextContent('No plan yet');
    // Team drivers, primary first, by name.
    expect(await screen.findByLabelText('Driver 1')).toHaveValue('drv-1');
    expect(screen.getByLabelText('Driver 2')).toHaveValue('drv-2');
    expect(screen.getByLabelText('Race (minutes)')).toHaveValue('360');

    fireEvent.change(screen.getByLabelText('Driver 2'), { target: { value: 'drv-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make plan' }));
    const err = await screen.findByRole('alert');
    expect(err).toHaveTextContent('drv-1 is listed twice');
    expect(err).toHaveAttribute('data-field', 'drivers[1].id');
    // Next to driver 2's choice, which is marked invalid.
    expect(screen.getAllByTestId('driver-row')[1]).toContainElement(err);
    expect(screen.getByLabelText('Driver 2')).toHaveAttribute('aria-invalid', 'true');
    expect(posted[0]!.drivers).toEqual([{ id: 'drv-1' }, { id: 'drv-1' }]);

    fireEvent.change(screen.getByLabelText('Driver 2'), { target: { value: 'drv-2' } });
    fireEvent.change(screen.getByLabelText('Least driving per driver (min)'), { target: { value: '300' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make plan' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveAttribute('data-field', 'minDriverMinutes'));
    expect(screen.getByLabelText('Least driving per driver (min)')).toHaveAttribute('aria-invalid', 'true');
    expect(posted[1]).toMatchObject({ minDriverMinutes: 300, drivers: [{ id: 'drv-1' }, { id: 'drv-2' }] });

    // A field that is not a number never reaches the API.
    fireEvent.change(screen.getByLabelText('Tank (L)'), { target: { value: 'big' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make plan' }));
    expect(await screen.findByRole('alert')).toHaveAttribute('data-field', 'tankL');
    expect(posted).toHaveLength(2);

    fireEvent.change(screen.getByLabelText('Tank (L)'), { target: { value: '140' } });
    fireEvent.change(screen.getByLabelText('Least driving per driver (min)'), { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make plan' }));
    const t = await screen.findByTestId('timeline-plan');
    expect(within(t).getAllByTestId('stint-seg')).toHaveLength(3);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(posted[2]).not.toHaveProperty('minDriverMinutes');
  });
});

describe('Strategy on a relay', () => {
  it('no stored plan to read or make; the live numbers still show', () => {
    const fetch = server(() => undefined);
    renderWith(<Strategy />, { fetch: fetch as unknown as typeof globalThis.fetch, config: { restApi: false }, state: { strategy: { 'team-apex/drv-1': { update: strategyUpdate(), at: Date.now() } } } });
    expect(screen.getAllByRole('status')[0]).toHaveTextContent('Not available on a relay');
    expect(screen.queryByRole('button', { name: 'Make plan' })).toBeNull();
    expect(screen.getByTestId('live-window')).toHaveTextContent('laps 48–57');
    expect(fetch).not.toHaveBeenCalled();
  });
});
