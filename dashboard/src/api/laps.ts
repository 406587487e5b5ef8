// REST data for the lap comparison and the history: sessions, laps, events and lap telemetry
// (crates/cloud). The shapes are the cloud's own, generated from its OpenAPI document
// (docs/openapi.json → ./openapi.ts with `npm run gen:api`; scripts/test-dashboard fails when the
// generated file is stale), not guessed.
import type { AuthManager } from './auth';
import { ENDPOINTS } from './endpoints';
import type { components } from './openapi';

export type ApiSession = components['schemas']['SessionSummary'];
export type ApiLap = components['schemas']['SimLap'];
export type ApiEvent = components['schemas']['EventSummary'];
export type ApiEventDetail = components['schemas']['EventDetail'];
export type ApiStint = components['schemas']['EventStint'];
export type ApiStoredStandings = components['schemas']['StoredStandings'];
export type ApiImportResult = components['schemas']['ImportResult'];
export type ApiLapComparison = components['schemas']['LapComparison'];

export interface SessionSummary {
  id: string;
  label: string;
  /** The sim's track and car, when the session has them (references are laps of the same
   * track and car). */
  track: string | null;
  car: string | null;
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
  sectors: number[];
}

/** "Tsukuba Circuit 1k Outer · Formula Vee · Race · 2025-01-30 16:09". */
export function sessionLabel(s: ApiSession): string {
  const when = s.startedAt.slice(0, 16).replace('T', ' ');
  return [s.track, s.car, s.sessionType, when].filter(Boolean).join(' · ') || s.id;
}

export function lapSummary(l: ApiLap): LapSummary {
  return {
    id: l.id,
    lap: l.lap,
    timeS: l.lapTime ?? null,
    driverId: l.driverId,
    valid: l.valid,
    complete: l.complete,
    reasons: l.invalid,
    inLap: l.inLap,
    outLap: l.outLap,
    sectors: l.sectors,
  };
}

export async function listSessions(auth: AuthManager): Promise<SessionSummary[]> {
  const v = await auth.fetchJson<ApiSession[]>(ENDPOINTS.sessions);
  return v.map((s) => ({ id: s.id, label: sessionLabel(s), track: s.track ?? null, car: s.car ?? null }));
}

export async function listLaps(auth: AuthManager, sessionId: string): Promise<LapSummary[]> {
  const v = await auth.fetchJson<ApiLap[]>(ENDPOINTS.laps(sessionId));
  return v.map(lapSummary);
}

export async function listEvents(auth: AuthManager): Promise<ApiEvent[]> {
  return auth.fetchJson<ApiEvent[]>(ENDPOINTS.events);
}

export async function getEvent(auth: AuthManager, id: string): Promise<ApiEventDetail> {
  return auth.fetchJson<ApiEventDetail>(ENDPOINTS.event(id));
}

/** Raw lap telemetry text: parsed and resampled in the analysis worker. */
export async function lapTelemetryText(auth: AuthManager, lapId: string): Promise<string> {
  return auth.fetchText(ENDPOINTS.lapTelemetry(lapId));
}

/** One stored lap against a reference lap of any session on the same track, corner by corner,
 * by the coaching engine (`GET /api/laps/{id}/compare`, the same analysis as `pitbox coach analyze`). */
export async function compareLaps(auth: AuthManager, lapId: string, referenceId: string): Promise<ApiLapComparison> {
  return auth.fetchJson<ApiLapComparison>(ENDPOINTS.lapCompare(lapId, referenceId));
}
