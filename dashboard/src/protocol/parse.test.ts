import { describe, expect, it } from 'vitest';
import { parseFrame } from './parse';
import { strategyUpdate, telemetry } from '../test/factories';

describe('parseFrame', () => {
  it('accepts spec messages and ignores unknown data fields', () => {
    const r = parseFrame(JSON.stringify({ type: 'telemetry_update', data: { ...telemetry(), newField: 1 } }));
    expect(r.ok).toBe(true);
  });
  it('accepts strategy_update without the optional pit window and savings', () => {
    const data: Partial<ReturnType<typeof strategyUpdate>> = strategyUpdate();
    delete data.pitWindow;
    delete data.nextStopFuelL;
    delete data.fuelSaveToSkipStopLpl;
    expect(parseFrame(JSON.stringify({ type: 'strategy_update', data })).ok).toBe(true);
  });
  it('accepts pit_command (routed to the team\'s other dashboards)', () => {
    const data = { id: 'pit-1', driverId: 'drv-1', senderId: 'eng-1', senderName: 'sam', timestamp: '2026-11-26T16:03:12Z', fuelL: 42, tyres: { lf: true, rf: true, lr: true, rr: true } };
    expect(parseFrame(JSON.stringify({ type: 'pit_command', data }))).toEqual({ ok: true, msg: { type: 'pit_command', data } });
    expect(parseFrame(JSON.stringify({ type: 'pit_command', data: { ...data, driverId: 7 } }))).toEqual({ ok: false, error: 'pit_command: bad field data.driverId' });
    expect(parseFrame(JSON.stringify({ type: 'pit_command', data: { ...data, fuelL: '42' } }))).toEqual({ ok: false, error: 'pit_command: bad field data.fuelL' });
  });
  it('accepts cue_reference (a choice on the pit wall, and back to the own best lap)', () => {
    const data = { driverId: 'drv-1', lapId: 'lap-4c2e', name: 'lap 2 of sam at Tsukuba', lapTimeS: 23.9797, setBy: 'usr-eng', timestamp: '2026-11-26T16:05:40Z' };
    expect(parseFrame(JSON.stringify({ type: 'cue_reference', data }))).toEqual({ ok: true, msg: { type: 'cue_reference', data } });
    expect(parseFrame(JSON.stringify({ type: 'cue_reference', data: { driverId: 'drv-1', setBy: 'usr-eng', timestamp: '2026-11-26T16:06:00Z' } })).ok).toBe(true);
    expect(parseFrame(JSON.stringify({ type: 'cue_reference', data: { ...data, setBy: null } }))).toEqual({ ok: false, error: 'cue_reference: bad field data.setBy' });
  });
  it.each([
    ['{', 'invalid_json'],
    ['[]', 'invalid_message'],
    ['{"type":"x"}', 'invalid_message'],
    ['{"type":"bogus","data":{}}', 'unknown_type bogus'],
    ['{"type":"telemetry_update","data":{"driverId":"d","speed":"fast"}}', 'telemetry_update: bad field data.speed'],
    ['{"type":"standings_update","data":{"entries":null}}', 'standings_update: bad field data.entries'],
    [JSON.stringify({ type: 'strategy_update', data: { ...strategyUpdate(), fuelLapsLeft: null } }), 'strategy_update: bad field data.fuelLapsLeft'],
    [JSON.stringify({ type: 'strategy_update', data: { ...strategyUpdate(), stints: {} } }), 'strategy_update: bad field data.stints'],
    [JSON.stringify({ type: 'strategy_update', data: { ...strategyUpdate(), teamId: undefined } }), 'strategy_update: bad field data.teamId'],
  ])('refuses %s', (text, error) => {
    expect(parseFrame(text)).toEqual({ ok: false, error });
  });
});
