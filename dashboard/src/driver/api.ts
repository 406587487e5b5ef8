// The driver agent's local API (docs/driver.md, "Local API"), as the driver's window uses it: from
// the agent's own origin, so reads need nothing and writes are taken on the window's cookie.
import { parseMessage } from '../protocol/parse';
import type { ServerMessage, TelemetrySnapshot } from '../protocol/types';

export interface Refusal {
  at: string;
  code: string;
  message: string;
}

export interface LoginState {
  state: 'ok' | 'waiting' | 'retrying' | 'refused' | string;
  username: string;
  userId: string;
  renewals: number;
  expiresAt: number;
  renewAt: number;
  lastError?: string | null;
}

export interface SpoolState {
  samples: number;
  batches: number;
  bytes: number;
  limitBytes: number;
  fullFraction: number;
  nearFull: boolean;
  oldestAgeSecs: number | null;
  unreachableSince: string | null;
}

export interface PitCommandStatus {
  id: string;
  from?: string;
  summary: string;
  applied: boolean;
  target?: string;
  reason?: string | null;
  receivedAt?: string;
}

export interface RacePosition {
  position: number | null;
  gapAheadS: number | null;
  gapBehindS: number | null;
  lastLapS: number | null;
  bestLapS: number | null;
  at?: string;
}

export interface LivePlan {
  lap: number;
  lapsRemaining: number;
  fuelLapsLeft: number;
  pitWindow: { opensLap: number; closesLap: number } | null;
  nextStopFuelL: number | null;
  fuelSaveToSkipStopLpl: number | null;
  stopsRemaining: number;
  at: string;
}

/** `GET /api/status`. */
export interface AgentStatus {
  source: string;
  sourceState: 'waiting' | 'connected' | 'disconnected' | 'finished' | string;
  relayConnected: boolean;
  relayConnects: number;
  telemetrySent: number;
  sequence: number | null;
  driverId: string;
  relayState: 'ok' | 'refused' | 'unauthorised' | 'disconnected' | 'off' | string;
  samplesRefused: number;
  lastRefusal: Refusal | null;
  login: LoginState | null;
  pitCommand: PitCommandStatus | null;
  race: RacePosition | null;
  plan: LivePlan | null;
  samplesProduced?: number;
  spool: SpoolState | null;
  upstream: 'relay' | 'cloud';
  lastAckedSequence: number | null;
  /** Live video, when the agent was started with `--video` or the driver started it here
   * (docs/video.md); null when off. */
  video?: VideoState | null;
  /** While video is off: what "Send my screen" would capture; null when this agent has no video. */
  videoReady?: string | null;
  /** The pit wall's request for this driver's screen, until the driver answers it. */
  videoRequest?: { id: string; senderName: string; timestamp: string } | null;
}

/** `GET /api/status`'s `video` (the fields the window shows). */
export interface VideoState {
  source: string;
  size: string;
  fps: number;
  bitrateBps: number;
  /** A frame went out within the last second. */
  sending: boolean;
  /** The driver stopped sending from the window. */
  paused?: boolean;
  framesSent: number;
  framesDropped: number;
  error: string | null;
}

/** `GET /api/voice/status` (the fields the window shows). */
export interface VoiceStatus {
  enabled: boolean;
  engine: string;
  output: string;
  speech: string;
  recognizer: string;
  input?: string;
  carCalloutsHeld?: string;
}

/** `GET /api/telemetry/current`: the spec's shape (the snapshot's channels, plus the position). */
export type Current = Pick<
  TelemetrySnapshot,
  'speed' | 'rpm' | 'gear' | 'throttle' | 'brake' | 'steeringAngle' | 'lap' | 'fuelLevel'
> & { position: number | null };

/** `GET /api/login`: who `login.json` holds and what the running agent streams with; no token. */
export interface LoginInfo {
  signedIn: boolean;
  username: string | null;
  userId: string | null;
  role: string | null;
  cloud: string | null;
  agentUses: 'signIn' | 'token' | 'nothing';
  running: string | null;
  inUse: boolean;
  restartNeeded: boolean;
  /** Only in a sign-out's answer: `ended` at the cloud, or why not. */
  cloudSignOut?: string | null;
}

/** What the window knows of the agent after one poll. */
export interface Snapshot {
  status: AgentStatus;
  voice: VoiceStatus | null;
  current: Current | null;
  messages: ServerMessage[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(r: Response, what: string): Promise<ApiError> {
  const body = (await r.json().catch(() => ({}))) as { error?: unknown };
  const msg = typeof body.error === 'string' ? body.error : `${r.status} ${r.statusText}`;
  return new ApiError(r.status, `${what}: ${msg}`);
}

export class LocalApi {
  constructor(private readonly fetchImpl: typeof fetch = (...a) => fetch(...a)) {}

  async get<T>(path: string): Promise<T> {
    const r = await this.fetchImpl(path, { cache: 'no-store' });
    if (!r.ok) throw await errorOf(r, path);
    return (await r.json()) as T;
  }

  post<T>(path: string, body?: unknown): Promise<T | null> {
    return this.send<T>('POST', path, body);
  }

  async send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T | null> {
    const r = await this.fetchImpl(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    if (!r.ok) throw await errorOf(r, path);
    return r.status === 204 ? null : ((await r.json().catch(() => null)) as T | null);
  }

  /** Everything the window shows, in one go. The status must answer; the rest may be missing
   * (no sample yet: 503) without hiding what is known. */
  async snapshot(): Promise<Snapshot> {
    const [status, voice, current, raw] = await Promise.all([
      this.get<AgentStatus>('/api/status'),
      this.get<VoiceStatus>('/api/voice/status').catch(() => null),
      this.get<Current>('/api/telemetry/current').catch(() => null),
      this.get<unknown[]>('/api/messages'),
    ]);
    // The dashboard's own frame checks: a malformed entry is dropped, not a broken screen.
    const messages = raw.flatMap((m) => {
      const p = parseMessage(m);
      return p.ok ? [p.msg] : [];
    });
    return { status, voice, current, messages };
  }

  answerHandoff(id: string, status: 'accepted' | 'rejected') {
    return this.post(`/api/handoff/${encodeURIComponent(id)}`, { status });
  }

  reply(content: string) {
    return this.post('/api/messages/reply', { content });
  }

  loginInfo() {
    return this.get<LoginInfo>('/api/login');
  }

  /** The sign-in of `pitbox driver login`, done by the agent. */
  signIn(cloud: string, username: string, password: string) {
    return this.send<LoginInfo>('POST', '/api/login', { cloud, username, password });
  }

  signOut() {
    return this.send<LoginInfo>('DELETE', '/api/login');
  }

  clearPitStop() {
    return this.post('/api/pit/clear');
  }

  /** Start (or resume) sending the driver's screen, or stop; answers the pit wall's request. */
  setVideo(send: boolean) {
    return this.post('/api/video', { send });
  }
}

/** Which callouts are on. */
export interface Callouts {
  voice: boolean;
  spotter: boolean;
  cues: boolean;
}

/** The settings the window edits (`GET`/`PUT /api/settings`), written to `pitbox.toml`. */
export interface DriverSettings {
  voiceEngine: string;
  voiceId: string;
  speed: number;
  sensitivity: number;
  callouts: Callouts;
  output: string;
  input: string | null;
  ptt: string[];
  /** Live video; null when this agent has none (a save without it leaves the file's video keys). */
  video?: VideoChoice | null;
}

/** What video captures and how it is sent (`video_capture`, `video_size` … in `pitbox.toml`). */
export interface VideoChoice {
  /** `window:TITLE`, `monitor:N` (Windows) or `test-pattern`. */
  capture: string;
  /** Sent from the start, not only when turned on or asked for. */
  atStart: boolean;
  /** `WIDTHxHEIGHT` */
  size: string;
  fps: number;
  /** bit/s */
  bitrate: number;
  /** `auto`, `hardware` or `software` */
  encoder: string;
}

/** The windows and monitors video can capture on the driver's PC now. */
export interface VideoTargets {
  windows: string[];
  monitors: { source: string; name: string; width: number; height: number }[];
  note: string | null;
}

export interface SettingsView {
  settings: DriverSettings;
  configFile: string | null;
  engines: string[];
  devices: { soundCard: boolean; outputs: string[]; inputs: string[]; note: string | null };
  videoTargets?: VideoTargets | null;
  /** Saved, but the running agent uses the old value until it is started again. */
  restartNeeded: string[];
}

export interface TestVoiceResult {
  text: string;
  engine: string;
  voiceId: string;
  speed: number;
  output: string;
  calloutId: number;
}

export interface CaptureResult {
  binding: string | null;
  reason?: string;
  listened?: string[];
}

export interface PttTest {
  lastPress: { at: string; pressed: boolean; refused?: string } | null;
  /** The voice log's last command: what was heard and what it did. */
  lastHeard: { at: string; origin: string; words: string; phrase?: string; confidence: number; answers: string[]; error?: string } | null;
}

export class SettingsApi {
  constructor(private readonly api: LocalApi) {}
  load() {
    return this.api.get<SettingsView>('/api/settings');
  }
  save(s: DriverSettings) {
    return this.api.send<SettingsView>('PUT', '/api/settings', s);
  }
  testVoice() {
    return this.api.send<TestVoiceResult>('POST', '/api/settings/test-voice');
  }
  capture() {
    return this.api.send<CaptureResult>('POST', '/api/ptt/capture', {});
  }
  pttTest() {
    return this.api.get<PttTest>('/api/ptt/test');
  }
}
