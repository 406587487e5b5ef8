import { describe, expect, it } from 'vitest';
import type { PlanRequest } from '../api/strategy';
import { strategyUpdate } from '../test/factories';
import { defaultForm, formFromRequest, requestFromForm } from './form';
import { difference, lapsPerTank, requestFromBasis, whatIfLabel, whatIfRequest } from './whatif';

const base: PlanRequest = {
  race: { laps: 60 },
  lapTimeS: 90,
  fuelPerLapL: 3,
  tankL: 100,
  startFuelL: 40,
  pitLaneS: 30,
  refuelLps: 2,
  tyreChangeS: 20,
  drivers: [{ id: 'ana' }, { id: 'ben', maxStintMinutes: 50, lapTimeS: 92 }, { id: 'cy' }],
};

describe('what-if requests', () => {
  it('stop now: a full tank from here, and the stop (lane + filling the tank) added', () => {
    const w = whatIfRequest({ kind: 'stopNow' }, base, 40);
    expect(w.request).toEqual({ ...base, startFuelL: 100 });
    expect(w.extraStops).toBe(1);
    expect(w.extraS).toBe(30 + (100 - 40) / 2);
    // the base is untouched
    expect(base.startFuelL).toBe(40);
  });

  it('stop now with a full tank already costs the lane only; fuel now defaults to the start fuel', () => {
    expect(whatIfRequest({ kind: 'stopNow' }, { ...base, startFuelL: undefined }).extraS).toBe(30);
    expect(whatIfRequest({ kind: 'stopNow' }, base).extraS).toBe(60);
  });

  it('caution for 3 laps: 1.5 laps of fuel more, capped at the tank', () => {
    expect(whatIfRequest({ kind: 'caution' }, base).request.startFuelL).toBe(44.5);
    expect(whatIfRequest({ kind: 'caution' }, { ...base, startFuelL: 98 }).request.startFuelL).toBe(100);
    expect(whatIfRequest({ kind: 'caution' }, { ...base, startFuelL: null }).request.startFuelL).toBe(100);
    expect(whatIfRequest({ kind: 'caution' }, base)).toMatchObject({ extraStops: 0, extraS: 0 });
  });

  it('double stint: the driver first in the rotation with the longest stint doubled', () => {
    const w = whatIfRequest({ kind: 'doubleStint', driverId: 'ben' }, base);
    expect(w.request.drivers).toEqual([{ id: 'ben', maxStintMinutes: 100, lapTimeS: 92 }, { id: 'ana' }, { id: 'cy' }]);
    expect(w.request.startFuelL).toBe(40);
  });

  it('double stint without a longest stint: two full tanks of the driver at their pace', () => {
    // (100 − 3 margin) / 3 = 32 laps a tank; 2 × 32 × 90 s = 96 min.
    expect(lapsPerTank(base)).toBe(32);
    const w = whatIfRequest({ kind: 'doubleStint', driverId: 'cy' }, base);
    expect(w.request.drivers[0]).toEqual({ id: 'cy', maxStintMinutes: 96 });
    expect(w.request.drivers.map((d) => d.id)).toEqual(['cy', 'ana', 'ben']);
    // with a margin of 10 L: floor(90 / 3) = 30 laps
    expect(whatIfRequest({ kind: 'doubleStint', driverId: 'ana' }, { ...base, fuelMarginL: 10 }).request.drivers[0]!.maxStintMinutes).toBe(90);
  });

  it('labels', () => {
    const name = (id: string) => id.toUpperCase();
    expect(whatIfLabel({ kind: 'stopNow' }, name)).toBe('Stop now');
    expect(whatIfLabel({ kind: 'caution' }, name)).toBe('Caution for 3 laps');
    expect(whatIfLabel({ kind: 'doubleStint', driverId: 'ben' }, name)).toBe('BEN double stint');
  });
});

describe('difference against the live plan', () => {
  it.each([
    [{ stops: 3, totalS: 1038.2 }, { stops: 2, totalS: 1000 }, '+1 stop, +38.2 s'],
    [{ stops: 4, totalS: 1000 }, { stops: 2, totalS: 1000 }, '+2 stops, +0.0 s'],
    [{ stops: 1, totalS: 980.04 }, { stops: 2, totalS: 1000 }, '-1 stop, -20.0 s'],
    [{ stops: 2, totalS: 1012.25 }, { stops: 2, totalS: 1000 }, 'same stops, +12.3 s'],
  ])('%o against %o', (w, l, want) => expect(difference(w, l)).toBe(want));
});

describe('basis of the live plan', () => {
  it('accepts the request shape, refuses anything else', () => {
    expect(requestFromBasis(strategyUpdate().basis)).toMatchObject({ race: { laps: 60 }, tankL: 140 });
    expect(requestFromBasis(null)).toBeNull();
    expect(requestFromBasis({ ...base, race: {} })).toBeNull();
    expect(requestFromBasis({ ...base, tankL: 'x' })).toBeNull();
    expect(requestFromBasis({ ...base, drivers: [{}] })).toBeNull();
  });
});

describe('plan form', () => {
  it('round-trips a request; empty optional fields are left out', () => {
    const r = requestFromForm(formFromRequest(base));
    expect(r).toEqual({ ok: true, request: base });
    const d = requestFromForm(defaultForm(['ana', 'ben']));
    expect(d.ok && d.request).toEqual({
      race: { minutes: 360 },
      lapTimeS: 120,
      fuelPerLapL: 3,
      tankL: 100,
      pitLaneS: 30,
      refuelLps: 2,
      tyreChangeS: 20,
      drivers: [{ id: 'ana' }, { id: 'ben' }],
    });
  });

  it('names the field that is not a number', () => {
    expect(requestFromForm({ ...defaultForm(), tankL: 'lots' })).toEqual({ ok: false, error: { field: 'tankL', message: 'not a number' } });
    expect(requestFromForm({ ...defaultForm(), race: '' })).toEqual({ ok: false, error: { field: 'race.minutes', message: 'required' } });
    expect(requestFromForm({ ...defaultForm(), raceKind: 'laps', race: '10.5' })).toMatchObject({ ok: false, error: { field: 'race.laps' } });
    const f = defaultForm(['ana', '']);
    expect(requestFromForm(f)).toMatchObject({ ok: false, error: { field: 'drivers[1].id' } });
    f.drivers[1] = { id: 'ben', maxStintMinutes: 'x', lapTimeS: '' };
    expect(requestFromForm(f)).toMatchObject({ ok: false, error: { field: 'drivers[1].maxStintMinutes' } });
  });
});
