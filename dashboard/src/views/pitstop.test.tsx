// @vitest-environment jsdom
// The "Next pit stop" panel of the Strategy view (issue 25 §3).
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthManager } from '../api/auth';
import { DEFAULT_CONFIG } from '../api/endpoints';
import { App } from '../App';
import type { DriverProfile, PitCommand } from '../protocol/types';
import { applyMessages, applyProfiles, initialState } from '../store/app';
import { status, strategyUpdate, telemetry } from '../test/factories';
import { fakeJwt } from '../test/jwt';
import { asWS, MockSocket } from '../test/mockSocket';
import { renderWith } from '../test/render';
import { schemaErrors } from '../test/schema';
import { Strategy } from './Strategy';

const profile = (id: string, name: string, role: DriverProfile['role']): DriverProfile => ({ id, name, team: 'Apex', number: 23, status: 'standby', role, avatarUrl: '', telemetryConnected: false, lastActive: '2026-11-26T16:00:00Z' });
const PROFILES = [profile('drv-1', 'Alex Driver', 'primary'), profile('drv-2', 'Jo Relief', 'secondary')];
const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });
const cloud = () =>
  vi.fn(async (url: string) => (url === '/api/drivers' ? json(PROFILES) : json({ error: { code: 'not_found', message: 'this team has no plan yet' } }, 404))) as unknown as typeof globalThis.fetch;

const panel = () => screen.getByTestId('pit-stop');
const fromOther: PitCommand = { id: 'pit-other-1', driverId: 'drv-1', senderId: 'eng-2', senderName: 'kim', timestamp: '2026-11-26T16:20:00Z', fuelL: 30, windscreen: true };

beforeEach(() => {
  MockSocket.reset();
  history.replaceState(null, '', '/strategy');
});

describe('Next pit stop', () => {
  it('engineer: sends exactly the pit_command; a refusal and the iRacing answer are shown in the panel', async () => {
    const auth = new AuthManager({ storage: null, fetch: cloud() });
    auth.loginWithToken(fakeJwt({ sub: 'eng-1', role: 'engineer', name: 'sam', exp: Math.floor(Date.now() / 1000) + 3600 }));
    render(<App auth={auth} config={DEFAULT_CONFIG} WebSocketImpl={asWS} />);
    const ws = MockSocket.last();
    act(() => ws.accept());
    await screen.findByTestId('pit-stop');
    // Jo is in the car: the panel's car; the live plan says 41.2 L at the next stop: 42 L.
    act(() => {
      ws.frame('driver_status', status({ driverId: 'drv-2', inCar: true }));
      ws.frame('driver_status', status({ driverId: 'drv-1', inCar: false, status: 'standby' }));
      ws.frame('strategy_update', strategyUpdate({ driverId: 'drv-2', nextStopFuelL: 41.2 }));
    });
    await waitFor(() => expect(screen.getByLabelText('Car')).toHaveValue('drv-2'));
    await waitFor(() => expect(screen.getByLabelText('Fuel to add (L)')).toHaveValue('42'));
    expect(screen.getByTestId('pit-fuel-hint')).toHaveTextContent('from the live plan');
    expect(screen.getByTestId('pit-iracing')).toHaveTextContent('iRacing has not confirmed (no pit service data from the sim)');

    const p = within(panel());
    fireEvent.click(p.getByRole('button', { name: 'all four' }));
    for (const c of ['LF', 'RF', 'LR', 'RR']) expect(p.getByLabelText(c)).toBeChecked();
    fireEvent.change(p.getByLabelText('Fast repair'), { target: { value: 'yes' } });
    fireEvent.click(p.getByRole('button', { name: 'Send to car' }));

    const sent = ws.sent.filter((m) => m.type === 'pit_command');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toStrictEqual({
      type: 'pit_command',
      data: { id: expect.stringMatching(/^pit-[A-Za-z0-9_-]{1,60}$/), driverId: 'drv-2', senderId: 'eng-1', senderName: 'sam', timestamp: expect.any(String), fuelL: 42, tyres: { lf: true, rf: true, lr: true, rr: true }, fastRepair: true },
    });
    expect(schemaErrors(sent[0]!)).toEqual([]);
    const ts = sent[0]!.data.timestamp as string;
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Math.abs(Date.parse(ts) - Date.now())).toBeLessThan(5000);
    expect(screen.getByTestId('pit-sent')).toHaveTextContent('Sent to Jo Relief: 42 L, four tyres, fast repair');
    expect(screen.getByTestId('pit-last')).toHaveTextContent('42 L, four tyres, fast repair — by sam at');

    // The sim has not applied it yet, then has it all, then loses the RR tyre.
    act(() => ws.frame('telemetry_update', telemetry({ driverId: 'drv-2', pitServiceFuelL: 0, pitServiceFlags: 0 })));
    await waitFor(() => expect(screen.getByTestId('pit-match')).toHaveTextContent('differs from what was sent: fuel not ticked, LF RF LR RR not ticked, no fast repair'));
    act(() => ws.frame('telemetry_update', telemetry({ driverId: 'drv-2', pitServiceFuelL: 42, pitServiceFlags: 0x1f | 0x40 })));
    await waitFor(() => expect(screen.getByTestId('pit-iracing')).toHaveTextContent('iRacing has: 42 L fuel, LF RF LR RR, fast repair — matches what was sent'));
    act(() => ws.frame('telemetry_update', telemetry({ driverId: 'drv-2', pitServiceFuelL: 42, pitServiceFlags: 0x17 | 0x40 })));
    await waitFor(() => expect(screen.getByTestId('pit-match')).toHaveTextContent('differs from what was sent: RR not ticked'));

    // Clear pit stop: clearAll and nothing else. The server refuses it: shown in the panel.
    fireEvent.click(p.getByRole('button', { name: 'Clear pit stop' }));
    const clear = ws.sent.filter((m) => m.type === 'pit_command')[1]!;
    expect(Object.keys(clear.data).sort()).toEqual(['clearAll', 'driverId', 'id', 'senderId', 'senderName', 'timestamp']);
    expect(clear.data).toMatchObject({ clearAll: true, driverId: 'drv-2', senderId: 'eng-1' });
    expect(clear.data.id).not.toBe(sent[0]!.data.id);
    expect(schemaErrors(clear)).toEqual([]);
    expect(screen.getByTestId('pit-sent')).toHaveTextContent('Sent to Jo Relief: everything cleared');
    expect(screen.queryByTestId('pit-refused')).toBeNull();
    act(() => ws.frame('error', { code: 'forbidden', message: 'drv-2 is not a driver of this team', field: 'driverId', messageType: 'pit_command' }));
    expect(await screen.findByTestId('pit-refused')).toHaveTextContent('The server refused the pit command: drv-2 is not a driver of this team (driverId) [forbidden]');
    expect(screen.getByTestId('pit-refused')).toHaveAttribute('role', 'alert');

    // A command from another engineer's browser, for Alex: shown as Alex's last command.
    act(() => ws.frame('pit_command', fromOther));
    fireEvent.change(p.getByLabelText('Car'), { target: { value: 'drv-1' } });
    await waitFor(() => expect(screen.getByTestId('pit-last')).toHaveTextContent('30 L, windscreen tear-off — by kim at'));
    // A new car: a fresh form (no live plan for Alex: the fuel is empty).
    expect(screen.getByLabelText('Fuel to add (L)')).toHaveValue('');
    expect(screen.queryByTestId('pit-sent')).toBeNull();
  });

  it('engineer: a wrong number or an empty command is not sent', () => {
    const { sent } = renderWith(<Strategy />, { config: { restApi: false }, state: applyProfiles(initialState, PROFILES) });
    const p = within(panel());
    expect(p.getByLabelText('Car')).toHaveValue('drv-1');
    fireEvent.click(p.getByRole('button', { name: 'Send to car' }));
    expect(p.getByTestId('pit-form-error')).toHaveTextContent('Nothing to send');
    fireEvent.change(p.getByLabelText('Fuel to add (L)'), { target: { value: 'lots' } });
    fireEvent.click(p.getByRole('button', { name: 'Send to car' }));
    expect(p.getByLabelText('Fuel to add (L)')).toHaveAttribute('aria-invalid', 'true');
    expect(p.getByRole('alert')).toHaveTextContent('Fuel: a number of litres');
    fireEvent.change(p.getByLabelText('Fuel to add (L)'), { target: { value: '' } });
    fireEvent.click(p.getByLabelText('LF'));
    fireEvent.change(p.getByLabelText('Pressure (kPa, optional)'), { target: { value: '20' } });
    fireEvent.click(p.getByRole('button', { name: 'Send to car' }));
    expect(p.getByRole('alert')).toHaveTextContent('Pressure: 50–500 kPa');
    expect(sent).toHaveLength(0);
    fireEvent.change(p.getByLabelText('Pressure (kPa, optional)'), { target: { value: '165' } });
    fireEvent.click(p.getByRole('button', { name: 'none' }));
    fireEvent.click(p.getByRole('button', { name: 'Send to car' }));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.data).toMatchObject({ driverId: 'drv-1', tyres: { lf: false, rf: false, lr: false, rr: false, pressureKpa: 165 } });
    expect(sent[0]!.data).not.toHaveProperty('fuelL');
    expect(screen.getByTestId('pit-sent')).toHaveTextContent('Sent to Alex Driver: no tyres');
  });

  it.each(['driver', 'viewer'])('%s: read-only — the last command and what iRacing has, no sending', (role) => {
    let state = applyProfiles({ ...initialState, me: { id: role === 'driver' ? 'drv-1' : 'view-1', username: 'x', role } }, PROFILES);
    state = applyMessages(
      state,
      [
        { type: 'driver_status', data: status({ driverId: 'drv-1' }) },
        { type: 'pit_command', data: fromOther },
        { type: 'telemetry_update', data: telemetry({ driverId: 'drv-1', pitServiceFuelL: 30, pitServiceFlags: 0x10 | 0x20 }) },
      ],
      Date.now(),
    );
    const { sent } = renderWith(<Strategy />, { config: { restApi: false }, state });
    const p = within(panel());
    expect(p.queryByRole('button', { name: 'Send to car' })).toBeNull();
    expect(p.queryByRole('button', { name: 'Clear pit stop' })).toBeNull();
    expect(p.getByLabelText('Fuel to add (L)')).toBeDisabled();
    expect(p.getByLabelText('LF')).toBeDisabled();
    expect(p.getByLabelText('Fast repair')).toBeDisabled();
    expect(p.getByTestId('pit-readonly')).toHaveTextContent('Read-only: engineers and admins set the pit stop.');
    expect(p.getByTestId('pit-last')).toHaveTextContent('30 L, windscreen tear-off — by kim');
    expect(p.getByTestId('pit-iracing')).toHaveTextContent('iRacing has: 30 L fuel, no tyres, windscreen tear-off — matches what was sent');
    expect(sent).toHaveLength(0);
  });

  it('parses an incoming pit_command into the last command of its driver; an older one does not replace it', () => {
    const newer = { ...fromOther, id: 'pit-2', timestamp: '2026-11-26T16:30:00Z', fuelL: 10 };
    let s = applyMessages(initialState, [{ type: 'pit_command', data: newer }], 1);
    s = applyMessages(s, [{ type: 'pit_command', data: fromOther }], 2);
    expect(s.pitCommands['drv-1']).toEqual({ command: newer, at: 1 });
  });
});
