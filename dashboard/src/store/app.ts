// The dashboard's state and the pure reducer that applies a batch of protocol messages.
// Telemetry history for charts and the track outline are mutable side structures (history.ts,
// trackOutline.ts), fed here too, so that 20 Hz streams never re-render React trees.
import type {
  AiCoaching,
  CueReference,
  DriverAvailability,
  DriverProfile,
  DriverStatusMsg,
  ErrorMsg,
  HandoffRequest,
  HandoffStatus,
  PitCommand,
  ServerMessage,
  SessionInfo,
  StandingsUpdate,
  StrategyUpdate,
  TeamMessage,
  TelemetryUpdate,
} from '../protocol/types';
import { TelemetryHistory } from './history';
import { TrackOutline } from './trackOutline';

export interface DriverView {
  id: string;
  name: string | null;
  number: number | null;
  role: DriverProfile['role'] | null;
  status: DriverAvailability | null;
  telemetryConnected: boolean;
  inCar: boolean;
  lastActive: string | null;
  /** The name the sim gives the driver (their car's line of session_info, or the profile's simName). */
  simName: string | null;
  /** When the driver's current stint began, from the cloud (GET /api/drivers); null when not known. */
  stintStartedAt: string | null;
  /** Whether a live driver_status of this driver was seen (a profile's status is not one). */
  statusSeen: boolean;
  /** Epoch ms the dashboard saw this driver get in the car. */
  inCarSince: number | null;
  /** False when the driver was already in the car when the dashboard first heard of them. */
  inCarSinceExact: boolean;
  latest: TelemetryUpdate | null;
  /** Receive time (epoch ms) of `latest`. */
  latestAt: number | null;
  /** Lap time of the last completed lap seen in telemetry (`lapTime` before the lap changed). */
  lastLapTime: number | null;
}

export interface HandoffView {
  req: HandoffRequest;
  history: Array<{ status: HandoffStatus; at: string; by: string | null }>;
}

export interface AppState {
  me: { id: string; username: string; role: string } | null;
  drivers: Record<string, DriverView>;
  /** driverId → the carIdx of their car (from their session_info). */
  carIdxByDriver: Record<string, number>;
  /** The newest session_info of any driver (the header's session). */
  session: SessionInfo | null;
  /** Each driver's own session: two drivers may be in different sim sessions. */
  sessionByDriver: Record<string, SessionInfo>;
  /** The newest standings of any session. */
  standings: StandingsUpdate | null;
  /** Standings per session ([sessionKey]): a car index means a car of that session only. */
  standingsBySession: Record<string, StandingsUpdate>;
  /** The session the competitors and the track map show; null = the newest standings'. */
  viewedSession: string | null;
  /** sessionKey → carIdx → recent lap times (oldest first), for pace trends. */
  pace: Record<string, Record<number, number[]>>;
  messages: TeamMessage[];
  /** messageId → readerId → readAt. */
  receipts: Record<string, Record<string, string>>;
  handoffs: Record<string, HandoffView>;
  coaching: AiCoaching[];
  /** The latest `strategy_update` per team and driver ([strategyKey]), with its receive time. */
  strategy: Record<string, { update: StrategyUpdate; at: number }>;
  /** The last `pit_command` seen per driver (sent from this browser or another pit-wall one). */
  pitCommands: Record<string, { command: PitCommand; at: number }>;
  /** driverId → the lap their cues are made against (`cue_reference`, or read with
   * `GET /api/drivers/{id}/cue-reference`); no `lapId`: their own best lap. Absent: not known yet. */
  cueReferences: Record<string, CueReference>;
  errors: Array<ErrorMsg & { at: number }>;
  /** Epoch ms of the last telemetry or standings received. */
  lastDataAt: number | null;
  selectedDriverId: string | null;
  profilesAvailable: boolean | null;
}

export const initialState: AppState = {
  me: null,
  drivers: {},
  carIdxByDriver: {},
  session: null,
  sessionByDriver: {},
  standings: null,
  standingsBySession: {},
  viewedSession: null,
  pace: {},
  messages: [],
  receipts: {},
  handoffs: {},
  coaching: [],
  strategy: {},
  pitCommands: {},
  cueReferences: {},
  errors: [],
  lastDataAt: null,
  selectedDriverId: null,
  profilesAvailable: null,
};

export const LIMITS = { messages: 500, coaching: 200, errors: 20, pace: 20 };

/** Which sim session a session_info or standings_update is of: the sim's key, or (from an older
 * agent without one) whatever its reporting driver is in. */
export function sessionKey(m: { simSessionId?: string; driverId: string }): string {
  return m.simSessionId ?? `driver:${m.driverId}`;
}

/** The key of the session `driverId` is in. */
export function driverSessionKey(s: Pick<AppState, 'sessionByDriver'>, driverId: string): string {
  const si = s.sessionByDriver[driverId];
  return si ? sessionKey(si) : `driver:${driverId}`;
}

/** The standings of the session `driverId` is in, never another session's. */
export function standingsForDriver(s: Pick<AppState, 'sessionByDriver' | 'standingsBySession'>, driverId: string): StandingsUpdate | null {
  return s.standingsBySession[driverSessionKey(s, driverId)] ?? null;
}

/** The session the competitors and track map show: the chosen one, else the newest standings'. */
export function viewedStandings(s: Pick<AppState, 'viewedSession' | 'standingsBySession' | 'standings'>): StandingsUpdate | null {
  if (s.viewedSession !== null) return s.standingsBySession[s.viewedSession] ?? null;
  return s.standings;
}

function emptyDriver(id: string): DriverView {
  return {
    id,
    name: null,
    number: null,
    role: null,
    status: null,
    telemetryConnected: false,
    inCar: false,
    lastActive: null,
    simName: null,
    stintStartedAt: null,
    statusSeen: false,
    inCarSince: null,
    inCarSinceExact: false,
    latest: null,
    latestAt: null,
    lastLapTime: null,
  };
}

/** Side structures fed alongside the reducer. */
export interface Sinks {
  history: TelemetryHistory;
  outline: TrackOutline;
  /** Which driver's path teaches the outline when there is no position fix. */
  outlineDriver: () => string | null;
}

export function createSinks(): Sinks {
  return { history: new TelemetryHistory(), outline: new TrackOutline(), outlineDriver: () => null };
}

/** Applies one throttled batch. Returns the same object when nothing changed. */
export function applyMessages(state: AppState, batch: ServerMessage[], now: number, sinks?: Sinks): AppState {
  let s = state;
  let drivers: Record<string, DriverView> | null = null;
  const drv = (id: string): DriverView => {
    if (!drivers) drivers = { ...s.drivers };
    const d = drivers[id] ?? emptyDriver(id);
    const copy = { ...d };
    drivers[id] = copy;
    return copy;
  };
  const outlineDriver = sinks?.outlineDriver() ?? null;

  for (const m of batch) {
    switch (m.type) {
      case 'telemetry_update': {
        const t = m.data;
        const d = drv(t.driverId);
        const prev = d.latest;
        if (prev && t.lap > prev.lap && prev.lapTime !== undefined) d.lastLapTime = prev.lapTime;
        d.latest = t;
        d.latestAt = now;
        d.telemetryConnected = true;
        s = { ...s, lastDataAt: now };
        if (sinks) {
          const ts = Date.parse(t.timestamp);
          const tSec = (Number.isFinite(ts) ? ts : now) / 1000;
          sinks.history.push(t.driverId, {
            t: tSec,
            speed: t.speed,
            rpm: t.rpm,
            gear: t.gear,
            throttle: t.throttle,
            brake: t.brake,
            steeringAngle: t.steeringAngle,
            fuelLevel: t.fuelLevel,
            wearFL: t.tireWear.frontLeft,
            wearFR: t.tireWear.frontRight,
            wearRL: t.tireWear.rearLeft,
            wearRR: t.tireWear.rearRight,
          });
          if (t.latitude !== null && t.longitude !== null) {
            sinks.outline.addGps(t.trackPosition, t.latitude, t.longitude);
          } else if (t.yawRate !== undefined && (outlineDriver === null || outlineDriver === t.driverId)) {
            sinks.outline.addPath(t.trackPosition, tSec, t.speed, t.yawRate);
          }
        }
        break;
      }
      case 'driver_status':
        applyStatus(drv(m.data.driverId), m.data, now);
        break;
      case 'session_info':
        s = {
          ...s,
          session: m.data,
          sessionByDriver: { ...s.sessionByDriver, [m.data.driverId]: m.data },
          carIdxByDriver: { ...s.carIdxByDriver, [m.data.driverId]: m.data.playerCarIdx },
        };
        {
          const me = m.data.drivers.find((x) => x.carIdx === m.data.playerCarIdx);
          const d = drv(m.data.driverId);
          if (me) {
            d.simName = me.name;
            // Without a team profile the sim's name is all there is (it follows the sim's renames).
            if (d.role === null) d.name = me.name;
          }
        }
        break;
      case 'standings_update': {
        const key = sessionKey(m.data);
        const before = s.pace[key] ?? {};
        let pace = before;
        const prev = s.standingsBySession[key];
        for (const e of m.data.entries) {
          if (e.lastLapTime === null) continue;
          const old = prev?.entries.find((p) => p.carIdx === e.carIdx);
          const list = pace[e.carIdx];
          if (!list || (old && old.lap !== e.lap && old.lastLapTime !== e.lastLapTime) || (!old && list.length === 0)) {
            if (pace === before) pace = { ...pace };
            const next = [...(list ?? []), e.lastLapTime];
            if (next.length > LIMITS.pace) next.shift();
            pace[e.carIdx] = next;
          }
        }
        s = {
          ...s,
          standings: m.data,
          standingsBySession: { ...s.standingsBySession, [key]: m.data },
          pace: pace === before ? s.pace : { ...s.pace, [key]: pace },
          lastDataAt: now,
        };
        break;
      }
      case 'team_message': {
        const i = s.messages.findIndex((x) => x.id === m.data.id);
        let messages: TeamMessage[];
        if (i >= 0) {
          messages = s.messages.slice();
          messages[i] = m.data;
        } else {
          messages = [...s.messages, m.data].sort((a, b) => a.sentAt.localeCompare(b.sentAt));
          if (messages.length > LIMITS.messages) messages = messages.slice(messages.length - LIMITS.messages);
        }
        s = { ...s, messages };
        break;
      }
      case 'message_read': {
        const r = m.data;
        const cur = s.receipts[r.messageId] ?? {};
        if (cur[r.readerId]) break;
        s = { ...s, receipts: { ...s.receipts, [r.messageId]: { ...cur, [r.readerId]: r.readAt } } };
        break;
      }
      case 'handoff_request': {
        const h = m.data;
        const old = s.handoffs[h.id];
        const history = old ? old.history.slice() : [];
        if (!old || old.req.status !== h.status) history.push({ status: h.status, at: old ? new Date(now).toISOString() : h.requestedAt, by: old ? null : h.requesterId });
        // A status update may come without the snapshot: keep the first one.
        const req = { ...h, telemetrySnapshot: h.telemetrySnapshot ?? old?.req.telemetrySnapshot ?? null };
        s = { ...s, handoffs: { ...s.handoffs, [h.id]: { req, history } } };
        break;
      }
      case 'handoff_response': {
        const r = m.data;
        const old = s.handoffs[r.handoffId];
        if (!old) break;
        const history = old.history.slice();
        const last = history[history.length - 1];
        if (!last || last.status !== r.status) history.push({ status: r.status, at: r.respondedAt, by: r.responderId });
        else if (last.by === null) history[history.length - 1] = { ...last, by: r.responderId, at: r.respondedAt };
        s = { ...s, handoffs: { ...s.handoffs, [r.handoffId]: { req: { ...old.req, status: r.status }, history } } };
        break;
      }
      case 'ai_coaching': {
        // The same coaching comes live and again from the REST history after a (re)connection:
        // kept once, newest first.
        const c = m.data;
        if (s.coaching.some((x) => x.timestamp === c.timestamp && x.driverId === c.driverId && x.lap === c.lap && x.feedback === c.feedback)) break;
        const coaching = [c, ...s.coaching];
        if (s.coaching.length > 0 && c.timestamp < s.coaching[0]!.timestamp) coaching.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
        if (coaching.length > LIMITS.coaching) coaching.length = LIMITS.coaching;
        s = { ...s, coaching };
        break;
      }
      case 'strategy_update': {
        const key = strategyKey(m.data);
        const prev = s.strategy[key];
        // An older update arriving late never replaces a newer one.
        if (prev && m.data.timestamp < prev.update.timestamp) break;
        s = { ...s, strategy: { ...s.strategy, [key]: { update: m.data, at: now } } };
        break;
      }
      case 'pit_command':
        s = withPitCommand(s, m.data, now);
        break;
      case 'cue_reference':
        s = withCueReference(s, m.data);
        break;
      case 'error': {
        const errors = [...s.errors, { ...m.data, at: now }];
        if (errors.length > LIMITS.errors) errors.shift();
        s = { ...s, errors };
        break;
      }
      default:
        break;
    }
  }
  if (drivers) s = { ...s, drivers };
  return s;
}

function applyStatus(d: DriverView, st: DriverStatusMsg, now: number): void {
  const firstSight = !d.statusSeen;
  d.statusSeen = true;
  if (st.inCar && !d.inCar) {
    d.inCarSince = now;
    d.inCarSinceExact = !firstSight;
    // Seen getting in: this stint began now, whatever an older stint start said.
    if (!firstSight) d.stintStartedAt = null;
  }
  if (!st.inCar) {
    d.inCarSince = null;
    d.inCarSinceExact = false;
    d.stintStartedAt = null;
  }
  d.status = st.status;
  d.telemetryConnected = st.telemetryConnected;
  d.inCar = st.inCar;
  d.lastActive = newest(d.lastActive, st.lastActive);
}

/** The later of two ISO times (either may be missing or unreadable). */
function newest(a: string | null, b: string | null | undefined): string | null {
  if (!b) return a;
  if (!a) return b;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(tb)) return a;
  if (Number.isNaN(ta)) return b;
  return tb > ta ? b : a;
}

export function applyProfiles(s: AppState, profiles: DriverProfile[]): AppState {
  const drivers = { ...s.drivers };
  for (const p of profiles) {
    const d = { ...(drivers[p.id] ?? emptyDriver(p.id)) };
    d.name = p.name;
    d.number = p.number;
    d.role = p.role;
    if (p.simName) d.simName = p.simName;
    if (p.stintStartedAt !== undefined) d.stintStartedAt = p.stintStartedAt;
    if (d.status === null) {
      d.status = p.status;
      d.telemetryConnected = p.telemetryConnected;
    } else if (p.telemetryConnected) {
      d.telemetryConnected = true;
    }
    // The cloud's lastActive counts relayed samples too: the newest of it and the live status.
    d.lastActive = newest(d.lastActive, p.lastActive);
    drivers[p.id] = d;
  }
  return { ...s, drivers, profilesAvailable: true };
}

/** Names learned from messages and handoffs, for drivers that have no profile. */
const ROLE_ORDER = { primary: 0, secondary: 1, reserve: 2 } as const;

/** The team's drivers (profiles from GET /api/drivers), primary first. */
export function teamDrivers(s: AppState): string[] {
  return Object.values(s.drivers)
    .filter((d) => d.role !== null)
    .sort((a, b) => (ROLE_ORDER[a.role!] ?? 3) - (ROLE_ORDER[b.role!] ?? 3) || (a.name ?? a.id).localeCompare(b.name ?? b.id))
    .map((d) => d.id);
}

/** How a driver is named on the pit wall: the team profile's name, number and role, with the
 * sim's name beside it when it differs (`sim` is null when it does not, or when there is no
 * profile and the sim's name is the name). */
export interface DriverLabel {
  name: string;
  number: number | null;
  role: DriverProfile['role'] | null;
  sim: string | null;
}

export function driverLabel(d: Pick<DriverView, 'id' | 'name' | 'number' | 'role' | 'simName'> | undefined, fallback?: string): DriverLabel {
  if (!d) return { name: fallback ?? '', number: null, role: null, sim: null };
  const profiled = d.role !== null;
  const name = d.name ?? d.simName ?? fallback ?? d.id;
  const sim = profiled && d.simName && d.simName !== name ? d.simName : null;
  return { name, number: profiled ? d.number : null, role: d.role, sim };
}

/** The label as one line: "Alex Driver #7 · primary — sim: Alex Novak". */
export function driverLabelText(l: DriverLabel): string {
  return `${l.name}${l.number !== null ? ` #${l.number}` : ''}${l.role ? ` · ${l.role}` : ''}${l.sim ? ` — sim: ${l.sim}` : ''}`;
}

/** When the driver's stint began (epoch ms) and whether that is exact: the cloud's stint start
 * when known, else when this dashboard saw them get in (exact only if it saw that happen). */
export function stintStart(d: Pick<DriverView, 'stintStartedAt' | 'inCarSince' | 'inCarSinceExact'>): { at: number; exact: boolean } | null {
  if (d.stintStartedAt) {
    const at = Date.parse(d.stintStartedAt);
    if (!Number.isNaN(at)) return { at, exact: true };
  }
  return d.inCarSince !== null ? { at: d.inCarSince, exact: d.inCarSinceExact } : null;
}

/** The team's driver in car `carIdx` of the session `key` (its standings' [sessionKey]): the one
 * in the car first. Null when no team driver's session_info puts them in that car. */
export function teamCarDriver(s: Pick<AppState, 'drivers' | 'carIdxByDriver' | 'sessionByDriver'>, carIdx: number, key?: string): string | null {
  let found: string | null = null;
  for (const [id, idx] of Object.entries(s.carIdxByDriver)) {
    if (idx !== carIdx) continue;
    if (key !== undefined && driverSessionKey(s, id) !== key) continue;
    if (s.drivers[id]?.inCar) return id;
    found ??= id;
  }
  return found;
}

export function driverName(s: AppState, id: string): string {
  const d = s.drivers[id];
  if (d?.name) return d.name;
  for (const h of Object.values(s.handoffs)) {
    if (h.req.requesterId === id) return h.req.requesterName;
    if (h.req.targetDriverId === id) return h.req.targetDriverName;
  }
  for (let i = s.messages.length - 1; i >= 0; i--) if (s.messages[i]!.senderId === id) return s.messages[i]!.senderName;
  return id;
}

/** Records `c` as the last pit command of its driver, unless a newer one is already known. */
/** The cue reference in force for one driver; an older one arriving late never replaces a newer one. */
export function withCueReference<S extends Pick<AppState, 'cueReferences'>>(s: S, r: CueReference): S {
  const prev = s.cueReferences[r.driverId];
  if (prev && r.timestamp < prev.timestamp) return s;
  return { ...s, cueReferences: { ...s.cueReferences, [r.driverId]: r } };
}

export function withPitCommand<S extends Pick<AppState, 'pitCommands'>>(s: S, c: PitCommand, now: number): S {
  const prev = s.pitCommands[c.driverId];
  if (prev && (prev.command.id === c.id || Date.parse(c.timestamp) < Date.parse(prev.command.timestamp))) return s;
  return { ...s, pitCommands: { ...s.pitCommands, [c.driverId]: { command: c, at: now } } };
}

export function strategyKey(u: Pick<StrategyUpdate, 'teamId' | 'driverId'>): string {
  return `${u.teamId}/${u.driverId}`;
}

/** The newest live plan of any driver (the team's car: whoever drives it now). */
export function latestStrategy(s: Pick<AppState, 'strategy'>): { update: StrategyUpdate; at: number } | null {
  let best: { update: StrategyUpdate; at: number } | null = null;
  for (const v of Object.values(s.strategy)) if (!best || v.update.timestamp > best.update.timestamp || (v.update.timestamp === best.update.timestamp && v.at > best.at)) best = v;
  return best;
}

export function unreadMessages(s: AppState): TeamMessage[] {
  const me = s.me?.id;
  return s.messages.filter((m) => m.senderId !== me && !(me && s.receipts[m.id]?.[me]));
}

export function pendingHandoffs(s: AppState): HandoffView[] {
  return Object.values(s.handoffs).filter((h) => h.req.status === 'pending' || h.req.status === 'accepted');
}
