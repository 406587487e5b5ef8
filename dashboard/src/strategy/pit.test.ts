import { describe, expect, it } from 'vitest';
import type { PitCommand } from '../protocol/types';
import { ALL_FOUR, commandFromForm, decodePitFlags, describeService, differences, emptyPitForm, NO_TYRES, pitId, pitService, summarise, type PitForm } from './pit';

const head = { id: 'pit-1', driverId: 'drv-1', senderId: 'eng-1', senderName: 'sam', timestamp: '2026-11-26T16:03:12.000Z' };
const cmd = (p: Partial<PitCommand>): PitCommand => ({ ...head, ...p });
const form = (p: Partial<PitForm>): PitForm => ({ ...emptyPitForm(), ...p });
const build = (p: Partial<PitForm>) => commandFromForm(form(p), { driverId: 'drv-1', sender: { id: 'eng-1', name: 'sam' }, timestamp: head.timestamp, id: 'pit-1' });

describe('commandFromForm', () => {
  it('only what the form sets, camelCase, clearAll omitted when false', () => {
    expect(build({ fuel: '42', tyres: { ...ALL_FOUR }, fastRepair: 'yes' })).toStrictEqual({ ok: true, command: { ...head, fuelL: 42, tyres: { lf: true, rf: true, lr: true, rr: true }, fastRepair: true } });
    expect(build({ fuel: '0', tyres: { ...NO_TYRES }, windscreen: 'no', fastRepair: 'no', clearAll: true })).toStrictEqual({
      ok: true,
      command: { ...head, clearAll: true, fuelL: 0, tyres: { lf: false, rf: false, lr: false, rr: false }, fastRepair: false, windscreen: false },
    });
    expect(build({ fuel: ' 12,5 ' })).toStrictEqual({ ok: true, command: { ...head, fuelL: 12.5 } });
  });

  it('the pressure goes with the tyres, and only with them', () => {
    expect(build({ tyres: { lf: true, rf: false, lr: true, rr: false }, pressure: '165' })).toStrictEqual({ ok: true, command: { ...head, tyres: { lf: true, rf: false, lr: true, rr: false, pressureKpa: 165 } } });
    expect(build({ fuel: '10', pressure: '165' })).toStrictEqual({ ok: true, command: { ...head, fuelL: 10 } });
  });

  it.each([
    [{ fuel: 'lots' }, 'fuel'],
    [{ fuel: '-3' }, 'fuel'],
    [{ fuel: '1001' }, 'fuel'],
    [{ tyres: ALL_FOUR, pressure: '40' }, 'pressure'],
    [{ tyres: ALL_FOUR, pressure: '501' }, 'pressure'],
    [{}, ''],
  ] as Array<[Partial<PitForm>, string]>)('refuses %j at field "%s"', (p, field) => {
    const r = build(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.field).toBe(field);
  });

  it('ids: "pit-" and letters, digits, - and _ only, at most 64 characters', () => {
    expect(pitId()).toMatch(/^pit-[A-Za-z0-9_-]{8,60}$/);
    expect(pitId(() => 'a.b/c d')).toBe('pit-abcd');
    expect(pitId(() => 'x'.repeat(100))).toHaveLength(64);
    expect(pitId()).not.toBe(pitId());
  });
});

describe('summarise', () => {
  it.each([
    [{ fuelL: 42, tyres: ALL_FOUR, fastRepair: true }, '42 L, four tyres, fast repair'],
    [{ fuelL: 41.6 }, '42 L'],
    [{ fuelL: 0, tyres: NO_TYRES }, 'no fuel, no tyres'],
    [{ tyres: { lf: true, rf: false, lr: true, rr: false, pressureKpa: 165 } }, 'LF LR tyres at 165 kPa'],
    [{ tyres: { lf: false, rf: true, lr: false, rr: false } }, 'RF tyre'],
    [{ fastRepair: false, windscreen: true }, 'no fast repair, windscreen tear-off'],
    [{ clearAll: true }, 'everything cleared'],
    [{ clearAll: true, fuelL: 20 }, 'everything cleared, 20 L'],
    [{}, 'nothing'],
  ] as Array<[Partial<PitCommand>, string]>)('%j → %s', (p, text) => expect(summarise(cmd(p))).toBe(text));
});

describe('PitSvFlags', () => {
  it('decodes every bit', () => {
    expect(decodePitFlags(0)).toEqual({ lf: false, rf: false, lr: false, rr: false, fuel: false, windscreen: false, fastRepair: false });
    expect(decodePitFlags(0x7f)).toEqual({ lf: true, rf: true, lr: true, rr: true, fuel: true, windscreen: true, fastRepair: true });
    expect(decodePitFlags(0x01 | 0x08 | 0x20)).toEqual({ lf: true, rf: false, lr: false, rr: true, fuel: false, windscreen: true, fastRepair: false });
    expect(decodePitFlags(0x02)).toMatchObject({ rf: true, lf: false });
    expect(decodePitFlags(0x04)).toMatchObject({ lr: true, rr: false });
    expect(decodePitFlags(0x10)).toMatchObject({ fuel: true, fastRepair: false });
    expect(decodePitFlags(0x40)).toMatchObject({ fastRepair: true, windscreen: false });
    // Bits iRacing may add later are ignored.
    expect(decodePitFlags(0x180)).toEqual(decodePitFlags(0));
  });

  it('reads the sample: none when the sim gives neither field', () => {
    expect(pitService({})).toBeNull();
    expect(pitService(null)).toBeNull();
    expect(pitService({ pitServiceFuelL: null, pitServiceFlags: null })).toBeNull();
    expect(pitService({ pitServiceFuelL: 42, pitServiceFlags: 0x5f })).toEqual({ fuelL: 42, flags: decodePitFlags(0x5f) });
    expect(pitService({ pitServiceFuelL: 12 })).toEqual({ fuelL: 12, flags: null });
  });

  it('describes it', () => {
    expect(describeService(pitService({ pitServiceFuelL: 42, pitServiceFlags: 0x1f | 0x40 })!)).toBe('42 L fuel, LF RF LR RR, fast repair');
    expect(describeService(pitService({ pitServiceFuelL: 42, pitServiceFlags: 0x20 })!)).toBe('no fuel, no tyres, windscreen tear-off');
    expect(describeService(pitService({ pitServiceFuelL: 7.4, pitServiceFlags: 0x10 | 0x02 })!)).toBe('7 L fuel, RF');
    expect(describeService(pitService({ pitServiceFuelL: 30 })!)).toBe('30 L fuel');
  });
});

describe('differences from what was sent', () => {
  const sv = (fuelL: number, flags: number) => pitService({ pitServiceFuelL: fuelL, pitServiceFlags: flags })!;
  const sent = cmd({ fuelL: 42, tyres: ALL_FOUR, fastRepair: true });

  it('none when iRacing has it', () => {
    expect(differences(sent, sv(42, 0x5f))).toEqual([]);
    // What the command leaves is not compared.
    expect(differences(sent, sv(42, 0x7f))).toEqual([]);
    expect(differences(cmd({ fuelL: 0, tyres: NO_TYRES }), sv(42, 0x40))).toEqual([]);
  });

  it('each difference in words', () => {
    expect(differences(sent, sv(38, 0x57))).toEqual(['38 L fuel, not 42 L', 'RR not ticked']);
    expect(differences(sent, sv(42, 0x0f))).toEqual(['fuel not ticked', 'no fast repair']);
    expect(differences(cmd({ fuelL: 0, tyres: { lf: true, rf: true, lr: false, rr: false }, windscreen: true }), sv(20, 0x1f))).toEqual(['fuel ticked (20 L)', 'LR RR ticked', 'no windscreen tear-off']);
  });

  it('clear everything: what the command does not set must be off', () => {
    expect(differences(cmd({ clearAll: true }), sv(0, 0))).toEqual([]);
    expect(differences(cmd({ clearAll: true }), sv(10, 0x10 | 0x01 | 0x40 | 0x20))).toEqual(['fuel ticked (10 L)', 'LF ticked', 'fast repair ticked', 'windscreen tear-off ticked']);
    expect(differences(cmd({ clearAll: true, fuelL: 42 }), sv(42, 0x10))).toEqual([]);
  });

  it('fuel only (no flags from the sim): the amount is compared', () => {
    expect(differences(sent, pitService({ pitServiceFuelL: 42 })!)).toEqual([]);
    expect(differences(sent, pitService({ pitServiceFuelL: 40 })!)).toEqual(['40 L fuel, not 42 L']);
  });
});
