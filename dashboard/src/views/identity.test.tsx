// @vitest-environment jsdom
// Issue 21, "Identity and freshness on the pit wall": drivers are named by the team's profile
// (name, number, role) with the sim's name beside it when it differs; "Last active" and the
// stint come from the cloud (GET /api/drivers), not from when this page opened.
import { act, render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthManager } from '../api/auth';
import { DEFAULT_CONFIG } from '../api/endpoints';
import { App } from '../App';
import type { DriverProfile } from '../protocol/types';
import { applyMessages, applyProfiles, driverLabel, driverLabelText, initialState, stintStart } from '../store/app';
import { handoff, session, standings, status } from '../test/factories';
import { fakeJwt } from '../test/jwt';
import { asWS, MockSocket } from '../test/mockSocket';
import { renderWith } from '../test/render';
import { Handoffs } from './Handoffs';
import { Overview } from './Overview';
import { Standings } from './Standings';
import { Telemetry } from './Telemetry';

const STINT_START = '2026-11-26T15:00:00Z';
const profile = (p: Partial<DriverProfile> = {}): DriverProfile => ({
  id: 'drv-1',
  name: 'Alex Driver',
  team: 'Apex',
  number: 7,
  status: 'active',
  role: 'primary',
  avatarUrl: '',
  telemetryConnected: true,
  lastActive: '2026-11-26T16:10:00Z',
  simName: 'Alex Novak',
  stintStartedAt: STINT_START,
  ...p,
});
const simInfo = (name: string) => session({ drivers: [{ carIdx: 3, name, carNumber: '23', teamName: 'Apex', carName: 'GT4', carClass: 'GT4' }] });
const M = <T extends string, D>(type: T, data: D) => ({ type, data }) as never;

beforeEach(() => {
  MockSocket.reset();
  history.replaceState(null, '', '/');
});

describe('driver naming', () => {
  it('the profile names the driver; the sim name is beside it only when it differs', () => {
    const s = applyProfiles(applyMessages(initialState, [M('session_info', simInfo('Alex Novak'))], Date.now()), [profile()]);
    const l = driverLabel(s.drivers['drv-1']);
    expect(l).toEqual({ name: 'Alex Driver', number: 7, role: 'primary', sim: 'Alex Novak' });
    expect(driverLabelText(l)).toBe('Alex Driver #7 · primary — sim: Alex Novak');
    // The sim renames the driver (a file change): the profile's name stays, the sim's follows.
    const renamed = applyMessages(s, [M('session_info', simInfo('Max Teichert2'))], Date.now());
    expect(driverLabelText(driverLabel(renamed.drivers['drv-1']))).toBe('Alex Driver #7 · primary — sim: Max Teichert2');
    // Same name in the sim: no "sim:" part.
    const same = applyProfiles(initialState, [profile({ simName: 'Alex Driver' })]);
    expect(driverLabelText(driverLabel(same.drivers['drv-1']))).toBe('Alex Driver #7 · primary');
  });

  it('without a profile the sim name is the name, and follows the sim', () => {
    const s = applyMessages(initialState, [M('session_info', simInfo('Alex Novak'))], Date.now());
    expect(driverLabel(s.drivers['drv-1'])).toEqual({ name: 'Alex Novak', number: null, role: null, sim: null });
    const renamed = applyMessages(s, [M('session_info', simInfo('Max Teichert2'))], Date.now());
    expect(driverLabelText(driverLabel(renamed.drivers['drv-1']))).toBe('Max Teichert2');
  });

  it('overview, driver table, telemetry header, standings and handoffs show the profile with the sim name', () => {
    const base = applyMessages(initialState, [M('session_info', simInfo('Alex Novak')), M('driver_status', status())], Date.now());
    let state = applyProfiles(base, [profile(), profile({ id: 'drv-2', name: 'Jo Relief', number: 8, role: 'secondary', simName: null, stintStartedAt: null })]);
    const entries = standings(5).entries.map((e) => (e.carIdx === 3 ? { ...e, isTeamCar: true, driverName: 'Alex Novak' } : e));
    state = applyMessages(state, [M('standings_update', standings(5, { entries })), M('handoff_request', handoff({ requesterName: 'alex', targetDriverId: 'drv-2', targetDriverName: 'jo' }))], Date.now());

    const o = renderWith(<Overview />, { state });
    const card = screen.getByRole('region', { name: 'Car of Alex Driver #7 · primary — sim: Alex Novak' });
    expect(card).toHaveTextContent('In the car: Alex Driver #7 · primary — sim: Alex Novak');
    expect(within(card).getByText(/sim: Alex Novak/)).toHaveClass('muted');
    const rows = screen.getAllByRole('row');
    expect(rows[1]).toHaveTextContent('Alex Driver #7 — sim: Alex Novak');
    expect(rows[1]).toHaveTextContent('primary');
    expect(rows[2]).toHaveTextContent('Jo Relief #8');
    expect(rows[2]).not.toHaveTextContent('sim:');
    o.unmount();

    const t = renderWith(<Telemetry driverId="drv-1" />, { state });
    expect(screen.getByTestId('telemetry-driver')).toHaveTextContent('Alex Driver #7 · primary — sim: Alex Novak');
    t.unmount();

    const st = renderWith(<Standings />, { state });
    expect(screen.getByTestId('standing-3')).toHaveTextContent('Alex Driver #7 — sim: Alex Novak');
    expect(screen.getByTestId('standing-4')).not.toHaveTextContent('Alex Driver');
    st.unmount();

    renderWith(<Handoffs />, { state });
    expect(screen.getByTestId('handoff')).toHaveTextContent('Alex Driver #7 — sim: Alex Novak → Jo Relief #8');
  });
});

describe('freshness', () => {
  it('the stint counts from the cloud’s stintStartedAt, not from when the page opened', () => {
    const now = Date.parse('2026-11-26T16:00:00Z');
    // The page opens at 16:00 and sees the driver already in the car.
    const seen = applyMessages(initialState, [M('driver_status', status())], now);
    expect(stintStart(seen.drivers['drv-1']!)).toEqual({ at: now, exact: false });
    const s = applyProfiles(seen, [profile()]);
    expect(stintStart(s.drivers['drv-1']!)).toEqual({ at: Date.parse(STINT_START), exact: true });
    // Out of the car: no stint.
    const out = applyMessages(s, [M('driver_status', status({ inCar: false }))], now + 1000);
    expect(stintStart(out.drivers['drv-1']!)).toBeNull();
  });

  it('"Last active" is the newest of the live status and the cloud’s lastActive', () => {
    const s = applyMessages(initialState, [M('driver_status', status({ lastActive: '2026-11-26T15:53:00Z' }))], Date.now());
    expect(applyProfiles(s, [profile({ lastActive: '2026-11-26T16:00:00Z' })]).drivers['drv-1']!.lastActive).toBe('2026-11-26T16:00:00Z');
    expect(applyProfiles(s, [profile({ lastActive: '2026-11-26T15:00:00Z' })]).drivers['drv-1']!.lastActive).toBe('2026-11-26T15:53:00Z');
  });

  it('the overview shows the stint from stintStartedAt and Last active from lastActive, read with GET /api/drivers', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T16:00:00Z'));
    try {
      const started = new Date(Date.now() - (1 * 3600 + 2 * 60 + 3) * 1000).toISOString();
      const lastActive = new Date(Date.now() - 2000).toISOString();
      const json = (v: unknown) => new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } });
      const fetch = vi.fn(async (url: string) => json(url === '/api/drivers' ? [profile({ stintStartedAt: started, lastActive })] : [])) as unknown as typeof globalThis.fetch;
      const auth = new AuthManager({ storage: null, fetch });
      auth.loginWithToken(fakeJwt({ sub: 'eng-1', role: 'engineer', name: 'sam', exp: Math.floor(Date.now() / 1000) + 3600 }));
      render(<App auth={auth} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
      const ws = MockSocket.last();
      act(() => ws.accept());
      act(() => ws.frame('driver_status', status({ lastActive: '2026-11-26T15:53:00Z' })));
      const card = await screen.findByRole('region', { name: /Car of Alex Driver #7/ });
      expect(within(card).getByTestId('car-stint')).toHaveTextContent('1:02:03');
      expect(within(card).getByTestId('car-stint')).not.toHaveTextContent('≥');
      const row = screen.getAllByRole('row')[1]!;
      expect(row).not.toHaveTextContent('7 min ago');
      expect(fetch).toHaveBeenCalledWith('/api/drivers', expect.anything());
    } finally {
      vi.useRealTimers();
    }
  });
});
