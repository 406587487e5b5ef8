// Frame decoding: envelope check, known type, and the few structural checks the store relies on,
// so that a malformed frame is reported instead of breaking a view. Pure: used on the main thread
// and inside the analysis worker.
import type { ServerMessage, ServerType } from './types';

const SERVER_TYPES: ReadonlySet<string> = new Set<ServerType>([
  'connection_established',
  'authentication_result',
  'telemetry_update',
  'team_message',
  'message_read',
  'handoff_request',
  'handoff_response',
  'ai_coaching',
  'strategy_update',
  'pit_command',
  'cue_reference',
  'video_request',
  'session_info',
  'standings_update',
  'driver_status',
  'subscribed',
  'ping',
  'pong',
  'error',
]);

export type ParseResult = { ok: true; msg: ServerMessage } | { ok: false; error: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (o: Obj, k: string) => typeof o[k] === 'number' && Number.isFinite(o[k]);
const str = (o: Obj, k: string) => typeof o[k] === 'string';

/** Checks per type: the fields that the views index or compute with. */
const CHECKS: Partial<Record<ServerType, (d: Obj) => string | null>> = {
  telemetry_update: (d) => {
    if (!str(d, 'driverId')) return 'driverId';
    for (const k of ['speed', 'rpm', 'gear', 'throttle', 'brake', 'steeringAngle', 'trackPosition', 'lap', 'fuelLevel'])
      if (!num(d, k)) return k;
    if (!isObj(d.tireWear)) return 'tireWear';
    return null;
  },
  team_message: (d) => (!str(d, 'id') ? 'id' : !str(d, 'content') ? 'content' : !str(d, 'senderId') ? 'senderId' : null),
  message_read: (d) => (!str(d, 'messageId') ? 'messageId' : !str(d, 'readerId') ? 'readerId' : null),
  handoff_request: (d) => (!str(d, 'id') ? 'id' : !str(d, 'status') ? 'status' : null),
  handoff_response: (d) => (!str(d, 'handoffId') ? 'handoffId' : !str(d, 'status') ? 'status' : null),
  ai_coaching: (d) => (!str(d, 'feedback') ? 'feedback' : !isObj(d.telemetryAnalysis) ? 'telemetryAnalysis' : null),
  strategy_update: (d) => {
    if (!str(d, 'teamId')) return 'teamId';
    if (!str(d, 'driverId')) return 'driverId';
    if (!str(d, 'timestamp')) return 'timestamp';
    for (const k of ['lap', 'lapsRemaining', 'fuelL', 'fuelPerLapL', 'fuelLapsLeft', 'lapTimeS', 'pitLaneS', 'stopsRemaining', 'totalRaceTimeS', 'finishFuelL'])
      if (!num(d, k)) return k;
    if (!Array.isArray(d.stints)) return 'stints';
    if (!isObj(d.basis)) return 'basis';
    return null;
  },
  pit_command: (d) => {
    for (const k of ['id', 'driverId', 'senderId', 'timestamp']) if (!str(d, k)) return k;
    if (d.fuelL !== undefined && d.fuelL !== null && !num(d, 'fuelL')) return 'fuelL';
    if (d.tyres !== undefined && d.tyres !== null && !isObj(d.tyres)) return 'tyres';
    return null;
  },
  video_request: (d) => {
    for (const k of ['id', 'driverId', 'senderId', 'senderName', 'timestamp']) if (!str(d, k)) return k;
    return null;
  },
  cue_reference: (d) => (!str(d, 'driverId') ? 'driverId' : !str(d, 'setBy') ? 'setBy' : !str(d, 'timestamp') ? 'timestamp' : null),
  standings_update: (d) => (!Array.isArray(d.entries) ? 'entries' : null),
  session_info: (d) => (!isObj(d.track) ? 'track' : !Array.isArray(d.drivers) ? 'drivers' : null),
  driver_status: (d) => (!str(d, 'driverId') ? 'driverId' : !str(d, 'status') ? 'status' : null),
  authentication_result: (d) => (typeof d.success !== 'boolean' ? 'success' : null),
  error: (d) => (!str(d, 'code') ? 'code' : null),
};

export function parseFrame(text: string): ParseResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, error: 'invalid_json' };
  }
  return parseMessage(v);
}

/** The same checks on an envelope already decoded (e.g. one of the driver agent's
 * `GET /api/messages`). */
export function parseMessage(v: unknown): ParseResult {
  if (!isObj(v) || typeof v.type !== 'string' || !isObj(v.data)) return { ok: false, error: 'invalid_message' };
  if (!SERVER_TYPES.has(v.type)) return { ok: false, error: `unknown_type ${v.type}` };
  const check = CHECKS[v.type as ServerType];
  const bad = check ? check(v.data) : null;
  if (bad) return { ok: false, error: `${v.type}: bad field data.${bad}` };
  return { ok: true, msg: v as unknown as ServerMessage };
}
