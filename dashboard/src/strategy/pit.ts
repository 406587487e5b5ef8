// The next pit stop (issue 25 §3): the panel's form as a `pit_command`, a command in words, and
// what iRacing says its pit service holds (PitSvFuel / PitSvFlags) compared with what was sent.
// Pure: no React, no store.
import type { PitCommand, TelemetryUpdate, TyreChange } from '../protocol/types';

export type Tri = 'leave' | 'yes' | 'no';
export type Corners = Pick<TyreChange, 'lf' | 'rf' | 'lr' | 'rr'>;
export const CORNERS = ['lf', 'rf', 'lr', 'rr'] as const;
export const CORNER_LABEL: Record<(typeof CORNERS)[number], string> = { lf: 'LF', rf: 'RF', lr: 'LR', rr: 'RR' };

export interface PitForm {
  /** Litres to add; '' leaves the fuel as it is, '0' unticks fuel. */
  fuel: string;
  /** null: leave the tyres as they are; all false: no tyres. */
  tyres: Corners | null;
  /** kPa for the new tyres; '' = as set in the car. */
  pressure: string;
  fastRepair: Tri;
  windscreen: Tri;
  clearAll: boolean;
}

export const emptyPitForm = (): PitForm => ({ fuel: '', tyres: null, pressure: '', fastRepair: 'leave', windscreen: 'leave', clearAll: false });
export const ALL_FOUR: Corners = { lf: true, rf: true, lr: true, rr: true };
export const NO_TYRES: Corners = { lf: false, rf: false, lr: false, rr: false };

export const MAX_FUEL_L = 1000;
export const PRESSURE_KPA = { min: 50, max: 500 };

export type PitFieldError = { field: 'fuel' | 'pressure' | ''; message: string };
export type Sender = { id: string; name: string };

const number = (text: string): number | null => {
  const t = text.trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(t)) return null;
  return Number(t);
};

const tri = (v: Tri): boolean | undefined => (v === 'leave' ? undefined : v === 'yes');

/** A new command id: "pit-" and letters, digits and '-' only (at most 64 characters). */
export function pitId(random: () => string = () => globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`): string {
  return `pit-${random().replace(/[^A-Za-z0-9_-]/g, '')}`.slice(0, 64);
}

/** The form as a `pit_command` for `driverId`: only what it sets, or the field that is wrong. */
export function commandFromForm(
  f: PitForm,
  o: { driverId: string; sender: Sender; timestamp: string; id: string },
): { ok: true; command: PitCommand } | { ok: false; error: PitFieldError } {
  const c: PitCommand = { id: o.id, driverId: o.driverId, senderId: o.sender.id, senderName: o.sender.name, timestamp: o.timestamp };
  if (f.clearAll) c.clearAll = true;
  if (f.fuel.trim() !== '') {
    const l = number(f.fuel);
    if (l === null || l > MAX_FUEL_L) return { ok: false, error: { field: 'fuel', message: `Fuel: a number of litres from 0 to ${MAX_FUEL_L}, or empty to leave the fuel as it is.` } };
    c.fuelL = l;
  }
  if (f.tyres) {
    c.tyres = { ...f.tyres };
    if (f.pressure.trim() !== '') {
      const p = number(f.pressure);
      if (p === null || p < PRESSURE_KPA.min || p > PRESSURE_KPA.max) return { ok: false, error: { field: 'pressure', message: `Pressure: ${PRESSURE_KPA.min}–${PRESSURE_KPA.max} kPa, or empty for the car's setting.` } };
      c.tyres.pressureKpa = p;
    }
  }
  const fr = tri(f.fastRepair);
  if (fr !== undefined) c.fastRepair = fr;
  const ws = tri(f.windscreen);
  if (ws !== undefined) c.windscreen = ws;
  if (!c.clearAll && c.fuelL === undefined && !c.tyres && c.fastRepair === undefined && c.windscreen === undefined) {
    return { ok: false, error: { field: '', message: 'Nothing to send: set fuel, tyres, fast repair or the windscreen, or clear the pit stop.' } };
  }
  return { ok: true, command: c };
}

/** "LF RF" of the corners set; '' for none. */
const cornerNames = (t: Corners) => CORNERS.filter((k) => t[k]).map((k) => CORNER_LABEL[k]).join(' ');
const litres = (l: number) => `${Math.round(l)} L`;

/** What a command sets, in a few words: "42 L, four tyres, fast repair". */
export function summarise(c: Omit<PitCommand, 'id' | 'driverId' | 'senderId' | 'senderName' | 'timestamp'>): string {
  const parts: string[] = [];
  if (c.clearAll) parts.push('everything cleared');
  if (c.fuelL !== undefined) parts.push(c.fuelL > 0 ? litres(c.fuelL) : 'no fuel');
  if (c.tyres) {
    const n = CORNERS.filter((k) => c.tyres![k]).length;
    const which = n === 0 ? 'no tyres' : n === 4 ? 'four tyres' : `${cornerNames(c.tyres)} tyre${n === 1 ? '' : 's'}`;
    parts.push(n > 0 && c.tyres.pressureKpa !== undefined ? `${which} at ${c.tyres.pressureKpa} kPa` : which);
  }
  if (c.fastRepair !== undefined) parts.push(c.fastRepair ? 'fast repair' : 'no fast repair');
  if (c.windscreen !== undefined) parts.push(c.windscreen ? 'windscreen tear-off' : 'no windscreen tear-off');
  return parts.length ? parts.join(', ') : 'nothing';
}

export const PIT_FLAGS = { lf: 0x01, rf: 0x02, lr: 0x04, rr: 0x08, fuel: 0x10, windscreen: 0x20, fastRepair: 0x40 } as const;

export interface PitService {
  /** PitSvFuel, litres; null when the sim gave none. */
  fuelL: number | null;
  /** The decoded PitSvFlags; null when the sim gave none. */
  flags: (Corners & { fuel: boolean; windscreen: boolean; fastRepair: boolean }) | null;
}

/** iRacing's PitSvFlags bit field, decoded. */
export function decodePitFlags(bits: number): NonNullable<PitService['flags']> {
  const on = (b: number) => (bits & b) !== 0;
  return { lf: on(PIT_FLAGS.lf), rf: on(PIT_FLAGS.rf), lr: on(PIT_FLAGS.lr), rr: on(PIT_FLAGS.rr), fuel: on(PIT_FLAGS.fuel), windscreen: on(PIT_FLAGS.windscreen), fastRepair: on(PIT_FLAGS.fastRepair) };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The car's pit service from a telemetry sample; null when the sample carries none. */
export function pitService(t: Pick<TelemetryUpdate, 'pitServiceFuelL' | 'pitServiceFlags'> | null | undefined): PitService | null {
  if (!t) return null;
  const fuelL = finite(t.pitServiceFuelL) ? t.pitServiceFuelL : null;
  const flags = finite(t.pitServiceFlags) ? decodePitFlags(t.pitServiceFlags) : null;
  return fuelL === null && flags === null ? null : { fuelL, flags };
}

/** The pit service in words: "42 L fuel, LF RF LR RR, fast repair". */
export function describeService(s: PitService): string {
  const parts: string[] = [];
  const f = s.flags;
  if (!f) {
    if (s.fuelL !== null) parts.push(`${litres(s.fuelL)} fuel`);
    return parts.join(', ');
  }
  parts.push(f.fuel ? `${litres(s.fuelL ?? 0)} fuel` : 'no fuel');
  parts.push(cornerNames(f) || 'no tyres');
  if (f.fastRepair) parts.push('fast repair');
  if (f.windscreen) parts.push('windscreen tear-off');
  return parts.join(', ');
}

/**
 * How the sim's pit service differs from a command: one phrase per difference, none when it
 * matches. Only what the command sets is compared (all of it after "clear everything"); the tyre
 * pressure is not in PitSvFlags and so not compared.
 */
export function differences(c: PitCommand, s: PitService): string[] {
  const out: string[] = [];
  const f = s.flags;
  const clear = !!c.clearAll;
  // Fuel: the amount in PitSvFuel, ticked or not in PitSvFlags.
  const wantFuel = c.fuelL !== undefined ? c.fuelL > 0 : clear ? false : undefined;
  if (wantFuel !== undefined && f) {
    if (wantFuel && !f.fuel) out.push('fuel not ticked');
    if (!wantFuel && f.fuel) out.push(`fuel ticked (${litres(s.fuelL ?? 0)})`);
  }
  if (wantFuel && (!f || f.fuel) && c.fuelL !== undefined && s.fuelL !== null && Math.abs(s.fuelL - c.fuelL) >= 0.5) out.push(`${litres(s.fuelL)} fuel, not ${litres(c.fuelL)}`);
  if (f) {
    const tyres = c.tyres ?? (clear ? NO_TYRES : null);
    if (tyres) {
      const missing = CORNERS.filter((k) => tyres[k] && !f[k]).map((k) => CORNER_LABEL[k]);
      const extra = CORNERS.filter((k) => !tyres[k] && f[k]).map((k) => CORNER_LABEL[k]);
      if (missing.length) out.push(`${missing.join(' ')} not ticked`);
      if (extra.length) out.push(`${extra.join(' ')} ticked`);
    }
    const fr = c.fastRepair ?? (clear ? false : undefined);
    if (fr !== undefined && fr !== f.fastRepair) out.push(f.fastRepair ? 'fast repair ticked' : 'no fast repair');
    const ws = c.windscreen ?? (clear ? false : undefined);
    if (ws !== undefined && ws !== f.windscreen) out.push(f.windscreen ? 'windscreen tear-off ticked' : 'no windscreen tear-off');
  }
  return out;
}
