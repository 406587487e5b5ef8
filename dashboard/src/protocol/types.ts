// The PitBox wire protocol as TypeScript types: exactly docs/protocol.md and docs/schema/*.json.
// Every WebSocket frame is `{type, data}`; unknown fields in `data` are ignored.

export const PROTOCOL_VERSION = '1.0';

export interface TireWear {
  frontLeft: number;
  frontRight: number;
  rearLeft: number;
  rearRight: number;
}

/** The spec's TelemetrySnapshot (lat/lon may be null: iRacing live has no position fix). */
export interface TelemetrySnapshot {
  timestamp: string;
  speed: number;
  rpm: number;
  gear: number;
  throttle: number;
  brake: number;
  steeringAngle: number;
  latitude: number | null;
  longitude: number | null;
  trackPosition: number;
  lap: number;
  sector: number;
  fuelLevel: number;
  tireWear: TireWear;
}

export interface TelemetryUpdate extends TelemetrySnapshot {
  driverId: string;
  position?: number;
  lapDistance?: number;
  lapTime?: number;
  sessionTime?: number;
  yawRate?: number;
  lateralAccel?: number;
  longitudinalAccel?: number;
  fuelLiters?: number;
  onPitRoad?: boolean;
  sequence?: number;
  simSessionId?: string;
  lastLapTime?: number;
  /** iRacing's IsOnTrack: false = nobody drives the car (garage, spectating). */
  onTrack?: boolean;
  /** iRacing's IsInGarage. */
  inGarage?: boolean;
  /** iRacing's IsReplayPlaying: the values are a replay's, not live. */
  replayPlaying?: boolean;
  /** iRacing's PitSvFuel: litres the car's pit service will add at the next stop. */
  pitServiceFuelL?: number | null;
  /** iRacing's PitSvFlags bit field: 0x01 LF, 0x02 RF, 0x04 LR, 0x08 RR tyre, 0x10 fuel,
   * 0x20 windscreen tear-off, 0x40 fast repair. */
  pitServiceFlags?: number | null;
}

export type UserRole = 'admin' | 'engineer' | 'driver' | 'viewer';
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type AttachmentType = 'document' | 'image' | 'telemetry';

export interface Attachment {
  type: AttachmentType;
  url: string;
  name: string;
}

export interface TeamMessage {
  id: string;
  content: string;
  senderId: string;
  senderName: string;
  priority: Priority;
  sentAt: string;
  read: boolean;
  attachment: Attachment | null;
}

export interface MessageRead {
  messageId: string;
  readerId: string;
  readAt: string;
}

export type HandoffStatus = 'pending' | 'accepted' | 'rejected' | 'completed';

export interface HandoffRequest {
  id: string;
  requesterId: string;
  requesterName: string;
  targetDriverId: string;
  targetDriverName: string;
  reason: string;
  urgency: 'normal' | 'urgent';
  requestedAt: string;
  status: HandoffStatus;
  telemetrySnapshot: TelemetrySnapshot | null;
  /** When and by whom it last moved (set by the cloud; absent while pending). */
  respondedAt?: string;
  responderId?: string;
}

export interface HandoffResponse {
  handoffId: string;
  status: Exclude<HandoffStatus, 'pending'>;
  responderId: string;
  respondedAt: string;
}

export interface AiCoaching {
  feedback: string;
  confidence: number;
  telemetryAnalysis: {
    strengths: string[];
    weaknesses: string[];
    improvementAreas: string[];
  };
  timestamp: string;
  priority: Priority;
  driverId?: string;
  lap?: number;
}

export interface SessionDriver {
  carIdx: number;
  name: string;
  carNumber: string;
  teamName: string;
  carName: string;
  carClass: string;
  iRating?: number | null;
}

export interface SessionInfo {
  driverId: string;
  sessionId: string;
  timestamp: string;
  track: {
    id: number;
    name: string;
    displayName: string;
    configName: string;
    lengthKm: number;
  };
  carName: string;
  sessionType: string;
  sessionDuration: number | null;
  sectors: number[];
  playerCarIdx: number;
  drivers: SessionDriver[];
  /** The sim's own key of the session (`iracing:…:N`); absent from older agents. */
  simSessionId?: string;
  /** iRacing's own session type text ("Lone Qualify", "Offline Testing" …). */
  simSessionType?: string;
}

export interface StandingsEntry {
  carIdx: number;
  carNumber: string;
  driverName: string;
  teamName: string;
  carClass: string;
  position: number;
  classPosition: number;
  lap: number;
  trackPosition: number;
  lastLapTime: number | null;
  bestLapTime: number | null;
  gapToLeader: number | null;
  gapToAhead: number | null;
  onPitRoad: boolean;
  pitStops: number;
  isTeamCar: boolean;
}

export interface StandingsUpdate {
  driverId: string;
  timestamp: string;
  sessionTime: number;
  entries: StandingsEntry[];
  /** The sim session the standings are of; absent from older agents. */
  simSessionId?: string;
}

export type DriverAvailability = 'active' | 'inactive' | 'standby';

export interface DriverStatusMsg {
  driverId: string;
  status: DriverAvailability;
  telemetryConnected: boolean;
  inCar: boolean;
  lastActive: string;
}

/** The spec's DriverProfile (REST). */
export interface DriverProfile {
  id: string;
  name: string;
  team: string;
  number: number;
  status: DriverAvailability;
  role: 'primary' | 'secondary' | 'reserve';
  avatarUrl: string;
  /** The driver's own socket is up, or their newest stored sample is younger than 10 s. */
  telemetryConnected: boolean;
  /** The newest of the driver's own connection and their newest stored sample. */
  lastActive: string;
  /** The name the sim gives the driver (absent from older servers; null when unknown). */
  simName?: string | null;
  /** When the driver's current stint began (null when not driving now; absent from older servers). */
  stintStartedAt?: string | null;
}

export type Channel = 'telemetry' | 'standings' | 'session' | 'messages' | 'handoffs' | 'coaching' | 'status' | 'strategy' | 'video';

/** One stint of a plan (`POST /api/strategy/plan`'s `stints`, and `strategy_update`'s revised
 * stints): laps are absolute; `fuelAddedL`, `newTyres` and `pitStopS` are those of the stop that
 * began the stint (0/false for the first). */
export interface PlanStint {
  driverId: string;
  startLap: number;
  endLap: number;
  laps: number;
  startFuelL: number;
  fuelAddedL: number;
  newTyres: boolean;
  pitStopS: number;
}

export type NumberSource = 'measured' | 'plan';

/** `strategy_update` (channel `strategy`): the live re-plan of a team's car after each lap. */
export interface StrategyUpdate {
  teamId: string;
  driverId: string;
  sessionId: string;
  timestamp: string;
  /** Laps the car has completed. */
  lap: number;
  lapsRemaining: number;
  lapsRemainingSource: 'sim' | 'plan';
  fuelL: number;
  fuelPerLapL: number;
  fuelPerLapSource: NumberSource;
  fuelLapsLeft: number;
  lapTimeS: number;
  lapTimeSource: NumberSource;
  pitLaneS: number;
  pitLaneSource: NumberSource;
  stopsRemaining: number;
  /** Absent: no stop needed. */
  pitWindow?: { opensLap: number; closesLap: number } | null;
  nextStopFuelL?: number | null;
  /** Absent: no stop within reach to skip. */
  fuelSaveToSkipStopLpl?: number | null;
  stints: PlanStint[];
  /** Remaining race time of the revised plan. */
  totalRaceTimeS: number;
  finishFuelL: number;
  /** The plan request the revision was planned from (the POST body's shape). */
  basis: Record<string, unknown>;
}

/** Tyres to change at the next stop; all four false clears the tyre boxes. */
export interface TyreChange {
  lf: boolean;
  rf: boolean;
  lr: boolean;
  rr: boolean;
  /** Cold pressure of the new tyres, kPa (50–500); absent: as set in the car. */
  pressureKpa?: number;
}

/** `pit_command` (pit wall → server → the car's driver agent, and to the team's other
 * dashboards on the `strategy` channel): the next stop of one car. Absent fields leave that part
 * of the car's pit service as it is. */
export interface PitCommand {
  id: string;
  driverId: string;
  senderId: string;
  senderName: string;
  timestamp: string;
  /** Clear every pit-service box first; omitted when false. */
  clearAll?: boolean;
  /** Fuel to add, litres (0–1000); 0 unticks fuel. */
  fuelL?: number;
  tyres?: TyreChange;
  fastRepair?: boolean;
  /** Tear off a windscreen layer. */
  windscreen?: boolean;
}

/** `cue_reference` (docs/protocol.md): the lap of the team's history one driver's cues before the
 * corner are made against, chosen on the pit wall; no `lapId`: the driver's own best valid lap. */
export interface CueReference {
  driverId: string;
  lapId?: string | null;
  /** "lap 2 of alex at Tsukuba". */
  name?: string | null;
  lapTimeS?: number | null;
  /** The user who chose it. */
  setBy: string;
  timestamp: string;
}

/** `video_request` (pit wall → server → the driver's agent, and to the team's other dashboards
 * on the `status` channel): asks a driver to send their screen. The driver accepts it in their
 * window; nothing is sent before. */
export interface VideoRequest {
  id: string;
  driverId: string;
  senderId: string;
  senderName: string;
  timestamp: string;
}

export interface Subscribe {
  teamId?: string;
  driverIds: string[];
  channels: Channel[];
  maxRateHz: number;
}

export interface ErrorMsg {
  code: string;
  message: string;
  field?: string | null;
  messageType?: string | null;
}

export interface ServerMessages {
  connection_established: { serverId: string; timestamp: string; version: string; authTimeoutSecs?: number };
  authentication_result: { success: boolean; userId?: string | null; role?: UserRole | null; teamId?: string | null; reason?: string | null };
  telemetry_update: TelemetryUpdate;
  team_message: TeamMessage;
  message_read: MessageRead;
  handoff_request: HandoffRequest;
  handoff_response: HandoffResponse;
  ai_coaching: AiCoaching;
  strategy_update: StrategyUpdate;
  pit_command: PitCommand;
  cue_reference: CueReference;
  video_request: VideoRequest;
  session_info: SessionInfo;
  standings_update: StandingsUpdate;
  driver_status: DriverStatusMsg;
  subscribed: Subscribe;
  ping: { id: number; timestamp: string };
  pong: { id: number; timestamp: string };
  error: ErrorMsg;
}

export interface ClientMessages {
  authenticate: { token: string; clientType: 'dashboard'; version: string };
  subscribe: Subscribe;
  unsubscribe: { driverIds: string[]; channels: Channel[] };
  team_message: TeamMessage;
  message_read: MessageRead;
  handoff_request: HandoffRequest;
  handoff_response: HandoffResponse;
  pit_command: PitCommand;
  video_request: VideoRequest;
  ping: { id: number; timestamp: string };
  pong: { id: number; timestamp: string };
}

export type ServerType = keyof ServerMessages;
export type ServerMessage = { [K in ServerType]: { type: K; data: ServerMessages[K] } }[ServerType];
export type ClientMessage = { [K in keyof ClientMessages]: { type: K; data: ClientMessages[K] } }[keyof ClientMessages];

/** Login response of `POST /api/auth/login` and `/api/auth/refresh`. */
export interface LoginResponse {
  token: string;
  refreshToken?: string | null;
  expiresIn?: number | null;
  user: { id: string; username: string; role: UserRole };
}
