// REST data for the lap comparison: sessions, laps and lap telemetry (crates/cloud). The shapes
// are read defensively: unknown fields ignored, the first of several plausible names taken.
import type { AuthManager } from './auth';
import { ENDPOINTS } from './endpoints';

export interface SessionSummary {
  id: string;
  label: string;
}
export interface LapSummary {
  id: string;
  lap: number;
  /** The cloud's `lapTime`: iRacing's own time; null for an incomplete lap. */
  timeS: number | null;
  driverId: string | null;
  /** Complete and no reason against it (`valid`). */
  valid: boolean;
  complete: boolean;
  /** Why the lap is not valid (`invalid`): incomplete, pit road, off track, reset, legacy. */
  reasons: string[];
  inLap: boolean;
  outLap: boolean;
}

type Obj = Record<string, unknown>;
const arr = (v: unknown, ...keys: string[]): Obj[] => {
  if (Array.isArray(v)) return v as Obj[];
  if (v && typeof v === 'object') for (const k of keys) if (Array.isArray((v as Obj)[k])) return (v as Obj)[k] as Obj[];
  return [];
};
const s = (o: Obj, ...keys: string[]): string | null => {
  for (const k of keys) if (typeof o[k] === 'string' || typeof o[k] === 'number') return String(o[k]);
  return null;
};
const n = (o: Obj, ...keys: string[]): number | null => {
  for (const k of keys) if (typeof o[k] === 'number' && Number.isFinite(o[k])) return o[k] as number;
  return null;
};

export async function listSessions(auth: AuthManager): Promise<SessionSummary[]> {
  const v = await auth.fetchJson<unknown>(ENDPOINTS.sessions);
  return arr(v, 'sessions', 'items').map((o) => {
    const track = (o.track && typeof o.track === 'object' ? s(o.track as Obj, 'displayName', 'name') : null) ?? s(o, 'trackName', 'track');
    const when = s(o, 'startedAt', 'startTime', 'createdAt');
    return { id: s(o, 'id', 'sessionId') ?? '?', label: [track, s(o, 'carName', 'car'), when].filter(Boolean).join(' · ') || (s(o, 'id') ?? '?') };
  });
}

export async function listLaps(auth: AuthManager, sessionId: string): Promise<LapSummary[]> {
  const v = await auth.fetchJson<unknown>(ENDPOINTS.laps(sessionId));
  // GET /api/sessions/{id}/laps (crates/cloud SimLap): laps as the sim timed them.
  return arr(v).map((o) => ({
    id: s(o, 'id') ?? '?',
    lap: n(o, 'lap') ?? 0,
    timeS: n(o, 'lapTime'),
    driverId: s(o, 'driverId'),
    valid: o.valid === true,
    complete: o.complete === true,
    reasons: Array.isArray(o.invalid) ? o.invalid.filter((r): r is string => typeof r === 'string') : [],
    inLap: o.inLap === true,
    outLap: o.outLap === true,
  }));
}

/** Raw lap telemetry text: parsed and resampled in the analysis worker. */
export async function lapTelemetryText(auth: AuthManager, lapId: string): Promise<string> {
  return auth.fetchText(ENDPOINTS.lapTelemetry(lapId));
}
