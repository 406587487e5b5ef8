// The plan inputs as a form: every field of the plan request as text (empty = the API's
// default for optional fields), to and from the request. Pure.
import type { PlanRequest } from '../api/strategy';

export interface DriverRow {
  id: string;
  maxStintMinutes: string;
  lapTimeS: string;
}

export interface PlanForm {
  raceKind: 'laps' | 'minutes';
  race: string;
  lapTimeS: string;
  fuelPerLapL: string;
  tankL: string;
  startFuelL: string;
  fuelMarginL: string;
  pitLaneS: string;
  refuelLps: string;
  tyreChangeS: string;
  tyresEveryStints: string;
  drivers: DriverRow[];
  minDriverMinutes: string;
  maxDriverMinutes: string;
}

/** Numeric fields, in the order the form shows them, with their labels (field path = key). */
export const NUMBER_FIELDS = [
  ['lapTimeS', 'Lap time (s)', true],
  ['fuelPerLapL', 'Fuel per lap (L)', true],
  ['tankL', 'Tank (L)', true],
  ['startFuelL', 'Start fuel (L, default full)', false],
  ['fuelMarginL', 'Fuel margin (L, default 1 lap)', false],
  ['pitLaneS', 'Pit lane loss (s)', true],
  ['refuelLps', 'Refuel rate (L/s)', true],
  ['tyreChangeS', 'Tyre change (s)', true],
  ['tyresEveryStints', 'New tyres every (stints, default 1)', false],
  ['minDriverMinutes', 'Least driving per driver (min)', false],
  ['maxDriverMinutes', 'Most driving per driver (min)', false],
] as const satisfies ReadonlyArray<readonly [keyof PlanForm, string, boolean]>;

export type NumberField = (typeof NUMBER_FIELDS)[number][0];

const text = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));

/** A 6-hour race on a 2-minute lap: the planner document's worked example. */
export function defaultForm(driverIds: string[] = []): PlanForm {
  return {
    raceKind: 'minutes',
    race: '360',
    lapTimeS: '120',
    fuelPerLapL: '3',
    tankL: '100',
    startFuelL: '',
    fuelMarginL: '',
    pitLaneS: '30',
    refuelLps: '2',
    tyreChangeS: '20',
    tyresEveryStints: '',
    drivers: driverIds.map((id) => ({ id, maxStintMinutes: '', lapTimeS: '' })),
    minDriverMinutes: '',
    maxDriverMinutes: '',
  };
}

export function formFromRequest(r: PlanRequest): PlanForm {
  const laps = r.race.laps !== null && r.race.laps !== undefined;
  return {
    raceKind: laps ? 'laps' : 'minutes',
    race: text(laps ? r.race.laps : r.race.minutes),
    lapTimeS: text(r.lapTimeS),
    fuelPerLapL: text(r.fuelPerLapL),
    tankL: text(r.tankL),
    startFuelL: text(r.startFuelL),
    fuelMarginL: text(r.fuelMarginL),
    pitLaneS: text(r.pitLaneS),
    refuelLps: text(r.refuelLps),
    tyreChangeS: text(r.tyreChangeS),
    tyresEveryStints: text(r.tyresEveryStints),
    drivers: r.drivers.map((d) => ({ id: d.id, maxStintMinutes: text(d.maxStintMinutes), lapTimeS: text(d.lapTimeS) })),
    minDriverMinutes: text(r.minDriverMinutes),
    maxDriverMinutes: text(r.maxDriverMinutes),
  };
}

export interface FieldError {
  field: string;
  message: string;
  code?: string | null;
}

const INTEGER = new Set(['tyresEveryStints']);

/** The request the form describes, or the first field that is not a number (the API checks the
 * rest and names the field itself). */
export function requestFromForm(f: PlanForm): { ok: true; request: PlanRequest } | { ok: false; error: FieldError } {
  const read = (field: string, v: string, required: boolean, integer = false): number | undefined | FieldError => {
    const s = v.trim();
    if (s === '') return required ? { field, message: 'required' } : undefined;
    const n = Number(s);
    if (!Number.isFinite(n)) return { field, message: 'not a number' };
    if (integer && !Number.isInteger(n)) return { field, message: 'a whole number' };
    return n;
  };
  const bad = (x: unknown): x is FieldError => typeof x === 'object' && x !== null;
  const race = read(`race.${f.raceKind}`, f.race, true, f.raceKind === 'laps');
  if (bad(race)) return { ok: false, error: race };
  const out: Record<string, unknown> = { race: { [f.raceKind]: race } };
  for (const [k, , required] of NUMBER_FIELDS) {
    const v = read(k, f[k], required, INTEGER.has(k));
    if (bad(v)) return { ok: false, error: v };
    if (v !== undefined) out[k] = v;
  }
  const drivers: PlanRequest['drivers'] = [];
  for (const [i, d] of f.drivers.entries()) {
    if (!d.id.trim()) return { ok: false, error: { field: `drivers[${i}].id`, message: 'choose a driver' } };
    const spec: PlanRequest['drivers'][number] = { id: d.id.trim() };
    const max = read(`drivers[${i}].maxStintMinutes`, d.maxStintMinutes, false);
    if (bad(max)) return { ok: false, error: max };
    if (max !== undefined) spec.maxStintMinutes = max;
    const lap = read(`drivers[${i}].lapTimeS`, d.lapTimeS, false);
    if (bad(lap)) return { ok: false, error: lap };
    if (lap !== undefined) spec.lapTimeS = lap;
    drivers.push(spec);
  }
  out.drivers = drivers;
  return { ok: true, request: out as unknown as PlanRequest };
}
