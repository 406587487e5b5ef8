// Mock factories (spec "Mock Factories"): protocol messages with sensible defaults.
import type { ApiLap, ApiSession } from '../api/laps';
import type { AiCoaching, DriverStatusMsg, HandoffRequest, SessionInfo, StandingsEntry, StandingsUpdate, StrategyUpdate, TeamMessage, TelemetryUpdate } from '../protocol/types';

export function telemetry(p: Partial<TelemetryUpdate> = {}): TelemetryUpdate {
  return {
    driverId: 'drv-1',
    timestamp: '2026-11-26T16:00:01.000Z',
    speed: 200,
    rpm: 7000,
    gear: 5,
    throttle: 100,
    brake: 0,
    steeringAngle: -5,
    latitude: null,
    longitude: null,
    trackPosition: 0.5,
    lap: 3,
    sector: 2,
    fuelLevel: 60,
    tireWear: { frontLeft: 10, frontRight: 11, rearLeft: 8, rearRight: 9 },
    ...p,
  };
}

export function status(p: Partial<DriverStatusMsg> = {}): DriverStatusMsg {
  return { driverId: 'drv-1', status: 'active', telemetryConnected: true, inCar: true, lastActive: '2026-11-26T16:00:00Z', ...p };
}

export function message(p: Partial<TeamMessage> = {}): TeamMessage {
  return { id: 'msg-1', content: 'Box this lap', senderId: 'eng-1', senderName: 'Sam', priority: 'normal', sentAt: '2026-11-26T16:05:00Z', read: false, attachment: null, ...p };
}

export function handoff(p: Partial<HandoffRequest> = {}): HandoffRequest {
  return {
    id: 'ho-1',
    requesterId: 'drv-1',
    requesterName: 'Alex Driver',
    targetDriverId: 'drv-2',
    targetDriverName: 'Jo Relief',
    reason: 'End of stint',
    urgency: 'normal',
    requestedAt: '2026-11-26T17:00:00Z',
    status: 'pending',
    telemetrySnapshot: null,
    ...p,
  };
}

export function coaching(p: Partial<AiCoaching> = {}): AiCoaching {
  return {
    feedback: 'Turn 3: brake later.',
    confidence: 0.8,
    telemetryAnalysis: { strengths: ['T1 good'], weaknesses: ['T3 early braking'], improvementAreas: ['Brake later into T3'] },
    timestamp: '2026-11-26T16:03:12Z',
    priority: 'normal',
    driverId: 'drv-1',
    lap: 12,
    ...p,
  };
}

export function entry(i: number, p: Partial<StandingsEntry> = {}): StandingsEntry {
  return {
    carIdx: i,
    carNumber: String(i + 1),
    driverName: `Driver ${i + 1}`,
    teamName: `Team ${i + 1}`,
    carClass: 'GT4',
    position: i + 1,
    classPosition: i + 1,
    lap: 7,
    trackPosition: (i * 0.013) % 1,
    lastLapTime: 88 + i * 0.1,
    bestLapTime: 87.5 + i * 0.1,
    gapToLeader: i === 0 ? 0 : i * 1.5,
    gapToAhead: i === 0 ? null : 1.5,
    onPitRoad: false,
    pitStops: 0,
    isTeamCar: false,
    ...p,
  };
}

export function standings(n: number, p: Partial<StandingsUpdate> = {}): StandingsUpdate {
  return { driverId: 'drv-1', timestamp: '2026-11-26T16:10:00Z', sessionTime: 600, entries: Array.from({ length: n }, (_, i) => entry(i)), ...p };
}

export function session(p: Partial<SessionInfo> = {}): SessionInfo {
  return {
    driverId: 'drv-1',
    sessionId: 's-1',
    timestamp: '2026-11-26T15:58:00Z',
    track: { id: 1, name: 'rbr', displayName: 'Red Bull Ring', configName: 'GP', lengthKm: 4.318 },
    carName: 'GT4',
    sessionType: 'race',
    sessionDuration: 21600,
    sectors: [0, 0.33, 0.66],
    playerCarIdx: 3,
    drivers: [{ carIdx: 3, name: 'Alex Driver', carNumber: '23', teamName: 'Apex', carName: 'GT4', carClass: 'GT4' }],
    ...p,
  };
}

// REST bodies, typed by the cloud's OpenAPI document (src/api/openapi.ts).
export function apiSession(p: Partial<ApiSession> = {}): ApiSession {
  return {
    id: 's1',
    teamId: 'team-1',
    driverId: 'drv-1',
    track: 'Red Bull Ring',
    car: 'Mercedes-AMG GT4',
    source: 'live',
    startedAt: '2026-11-26T16:00:00Z',
    lastSampleAt: '2026-11-26T16:30:00Z',
    lapCount: 3,
    sampleCount: 5400,
    sessionType: 'Race',
    simSessionId: 'iracing:1:2:2',
    eventId: 'iracing:1:2',
    legacy: false,
    ...p,
  };
}

export function apiLap(lap: number, p: Partial<ApiLap> = {}): ApiLap {
  return {
    id: `l${lap}`,
    sessionId: 's1',
    driverId: 'drv-1',
    seq: lap,
    lap,
    lapTime: 90 + lap / 10,
    complete: true,
    valid: true,
    invalid: [],
    inLap: false,
    outLap: false,
    sectors: [30, 30, 30 + lap / 10],
    startedAt: '2026-11-26T16:00:00Z',
    endedAt: '2026-11-26T16:01:30Z',
    ...p,
  };
}

/** A live re-plan after lap 40 of a 100-lap race: one stop left, in a window of laps 58–70. */
export function strategyUpdate(p: Partial<StrategyUpdate> = {}): StrategyUpdate {
  return {
    teamId: 'team-apex',
    driverId: 'drv-1',
    sessionId: 's-1',
    timestamp: '2026-11-26T16:40:00Z',
    lap: 40,
    lapsRemaining: 60,
    lapsRemainingSource: 'sim',
    fuelL: 55,
    fuelPerLapL: 3,
    fuelPerLapSource: 'measured',
    fuelLapsLeft: 18.3,
    lapTimeS: 90.5,
    lapTimeSource: 'measured',
    pitLaneS: 28,
    pitLaneSource: 'plan',
    stopsRemaining: 1,
    pitWindow: { opensLap: 48, closesLap: 57 },
    nextStopFuelL: 60,
    fuelSaveToSkipStopLpl: 0.25,
    stints: [
      { driverId: 'drv-1', startLap: 41, endLap: 57, laps: 17, startFuelL: 55, fuelAddedL: 0, newTyres: false, pitStopS: 0 },
      { driverId: 'drv-2', startLap: 58, endLap: 100, laps: 43, startFuelL: 132, fuelAddedL: 126, newTyres: true, pitStopS: 91 },
    ],
    totalRaceTimeS: 5521,
    finishFuelL: 3,
    basis: {
      race: { laps: 60 },
      lapTimeS: 90.5,
      fuelPerLapL: 3,
      tankL: 140,
      startFuelL: 55,
      pitLaneS: 28,
      refuelLps: 2,
      tyreChangeS: 20,
      drivers: [{ id: 'drv-1' }, { id: 'drv-2' }],
    },
    ...p,
  };
}
