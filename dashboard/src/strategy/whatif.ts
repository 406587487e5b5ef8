// What-ifs on the live plan (issue 25 §4): pure derivations of a plan request from the request the
// live re-plan was made from (`strategy_update.basis`, else the stored plan's request), planned by
// `POST /api/strategy/plan?dryRun=true` (nothing stored), and how the answer compares with the
// live plan. No I/O here: the view calls the API.
import type { PlanRequest } from '../api/strategy';

export type WhatIf = { kind: 'stopNow' } | { kind: 'caution' } | { kind: 'doubleStint'; driverId: string };

/** Laps under caution, burning half the fuel each. */
export const CAUTION_LAPS = 3;

export interface WhatIfRequest {
  request: PlanRequest;
  /** Stops the dry-run plan does not know about (the stop made now). */
  extraStops: number;
  /** Time those stops cost, seconds, added to the dry-run's total. */
  extraS: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** `strategy_update.basis` as a plan request, when it has the request's shape (else null: the
 * what-ifs fall back to the stored plan's request). */
export function requestFromBasis(basis: unknown): PlanRequest | null {
  if (typeof basis !== 'object' || basis === null) return null;
  const b = basis as Record<string, unknown>;
  const race = b.race as Record<string, unknown> | undefined;
  if (typeof race !== 'object' || race === null || !(isNum(race.laps) || isNum(race.minutes))) return null;
  for (const k of ['lapTimeS', 'fuelPerLapL', 'tankL', 'pitLaneS', 'refuelLps', 'tyreChangeS']) if (!isNum(b[k])) return null;
  if (!Array.isArray(b.drivers) || !b.drivers.every((d) => typeof d === 'object' && d !== null && typeof (d as { id?: unknown }).id === 'string')) return null;
  return b as unknown as PlanRequest;
}

/** Fuel in the tank as the request's race starts (its `startFuelL`, by default a full tank). */
export function startFuel(req: PlanRequest): number {
  return req.startFuelL ?? req.tankL;
}

/** Laps a full tank lasts keeping the margin (the longest stint fuel allows). */
export function lapsPerTank(req: PlanRequest): number {
  const margin = req.fuelMarginL ?? req.fuelPerLapL;
  return Math.max(1, Math.floor((req.tankL - margin) / req.fuelPerLapL + 1e-9));
}

/**
 * The request of a what-if, from `base` (the live re-plan's request) and the fuel in the car now
 * (`fuelNowL`, by default the base's start fuel):
 * - stop now: the race goes on from a full tank, and one stop (lane plus filling the tank) is added;
 * - caution: 3 laps at half burn leave 1.5 laps' fuel more in the tank (at most a full tank);
 * - double stint: the driver's longest stint doubled (two full tanks' worth when not set), and
 *   the driver first in the rotation.
 */
export function whatIfRequest(w: WhatIf, base: PlanRequest, fuelNowL: number = startFuel(base)): WhatIfRequest {
  switch (w.kind) {
    case 'stopNow': {
      const fill = Math.max(0, base.tankL - fuelNowL);
      return { request: { ...base, startFuelL: base.tankL }, extraStops: 1, extraS: base.pitLaneS + fill / base.refuelLps };
    }
    case 'caution': {
      const saved = (CAUTION_LAPS / 2) * base.fuelPerLapL;
      return { request: { ...base, startFuelL: Math.min(base.tankL, startFuel(base) + saved) }, extraStops: 0, extraS: 0 };
    }
    case 'doubleStint': {
      const i = base.drivers.findIndex((d) => d.id === w.driverId);
      const d = i >= 0 ? base.drivers[i]! : { id: w.driverId };
      const lap = d.lapTimeS ?? base.lapTimeS;
      const maxStintMinutes = d.maxStintMinutes != null ? d.maxStintMinutes * 2 : (2 * lapsPerTank(base) * lap) / 60;
      const others = base.drivers.filter((_, j) => j !== i);
      return { request: { ...base, drivers: [{ ...d, maxStintMinutes }, ...others] }, extraStops: 0, extraS: 0 };
    }
  }
}

export function whatIfLabel(w: WhatIf, name: (id: string) => string): string {
  switch (w.kind) {
    case 'stopNow':
      return 'Stop now';
    case 'caution':
      return `Caution for ${CAUTION_LAPS} laps`;
    case 'doubleStint':
      return `${name(w.driverId)} double stint`;
  }
}

/** "+1 stop, +38.2 s": a what-if's stops and race time against the live plan's. */
export function difference(whatIf: { stops: number; totalS: number }, live: { stops: number; totalS: number }): string {
  const ds = whatIf.stops - live.stops;
  const stops = ds === 0 ? 'same stops' : `${ds > 0 ? '+' : '-'}${Math.abs(ds)} stop${Math.abs(ds) === 1 ? '' : 's'}`;
  const dt = Math.round((whatIf.totalS - live.totalS) * 10) / 10;
  return `${stops}, ${dt < 0 ? '-' : '+'}${Math.abs(dt).toFixed(1)} s`;
}
