import { describe, expect, it } from 'vitest';
import { coaching, entry, handoff, message, session, standings, status, strategyUpdate, telemetry } from '../test/factories';
import type { ServerMessage } from '../protocol/types';
import { applyMessages, applyProfiles, createSinks, driverName, initialState, latestStrategy, LIMITS, pendingHandoffs, sessionKey, standingsForDriver, unreadMessages, type AppState } from './app';

const M = <T extends ServerMessage['type']>(type: T, data: Extract<ServerMessage, { type: T }>['data']) => ({ type, data }) as ServerMessage;
const me: AppState = { ...initialState, me: { id: 'eng-1', username: 'sam', role: 'engineer' } };

describe('applyMessages', () => {
  it('returns the same state for an empty or irrelevant batch', () => {
    expect(applyMessages(me, [], 1)).toBe(me);
    expect(applyMessages(me, [M('subscribed', { driverIds: [], channels: [], maxRateHz: 20 })], 1)).toBe(me);
  });

  it('telemetry creates the driver, records receive time, and the previous lap time on lap change', () => {
    const sinks = createSinks();
    let s = applyMessages(me, [M('telemetry_update', telemetry({ lap: 3, lapTime: 88.5 }))], 1000, sinks);
    expect(s.drivers['drv-1']).toMatchObject({ telemetryConnected: true, latestAt: 1000, lastLapTime: null });
    s = applyMessages(s, [M('telemetry_update', telemetry({ lap: 4, lapTime: 0.1, timestamp: '2026-11-26T16:00:02.000Z' }))], 2000, sinks);
    expect(s.drivers['drv-1']!.lastLapTime).toBe(88.5);
    expect(s.lastDataAt).toBe(2000);
    expect(sinks.history.get('drv-1')!.length).toBe(2);
  });

  it('does not touch other drivers objects (selective updates)', () => {
    let s = applyMessages(me, [M('telemetry_update', telemetry({ driverId: 'a' })), M('telemetry_update', telemetry({ driverId: 'b' }))], 1);
    const b = s.drivers.b;
    s = applyMessages(s, [M('telemetry_update', telemetry({ driverId: 'a', speed: 1 }))], 2);
    expect(s.drivers.b).toBe(b);
  });

  it('stint: exact when the driver was seen getting in, a lower bound when already in', () => {
    let s = applyMessages(me, [M('driver_status', status({ inCar: true }))], 1000);
    expect(s.drivers['drv-1']).toMatchObject({ inCar: true, inCarSince: 1000, inCarSinceExact: false });
    s = applyMessages(s, [M('driver_status', status({ driverId: 'drv-2', inCar: false, status: 'standby' }))], 2000);
    s = applyMessages(s, [M('driver_status', status({ driverId: 'drv-2', inCar: true }))], 3000);
    expect(s.drivers['drv-2']).toMatchObject({ inCarSince: 3000, inCarSinceExact: true });
    s = applyMessages(s, [M('driver_status', status({ inCar: false }))], 4000);
    expect(s.drivers['drv-1']!.inCarSince).toBeNull();
  });

  it('session_info maps the driver to their car; standings keep a pace history per car', () => {
    let s = applyMessages(me, [M('session_info', session())], 1);
    expect(s.carIdxByDriver['drv-1']).toBe(3);
    expect(s.drivers['drv-1']!.name).toBe('Alex Driver');
    const st = standings(3);
    s = applyMessages(s, [M('standings_update', st)], 2);
    const key = sessionKey(st);
    expect(s.pace[key]![0]).toEqual([88]);
    // same lap again: no new point
    s = applyMessages(s, [M('standings_update', st)], 3);
    expect(s.pace[key]![0]).toEqual([88]);
    const next = { ...st, entries: st.entries.map((e) => ({ ...e, lap: 8, lastLapTime: e.lastLapTime! - 1 })) };
    s = applyMessages(s, [M('standings_update', next)], 4);
    expect(s.pace[key]![0]).toEqual([88, 87]);
  });

  it('two drivers in different sessions: each car is found in its own session\'s standings only', () => {
    // Both cars have car index 0 in their own sessions (issue 20: P24 shown for the wrong car).
    const race = 'iracing:1:900:2';
    const practice = 'iracing:1:901:0';
    let s = applyMessages(
      me,
      [
        M('session_info', session({ driverId: 'drv-1', playerCarIdx: 0, simSessionId: race })),
        M('session_info', session({ driverId: 'drv-2', playerCarIdx: 0, simSessionId: practice, drivers: [] })),
        M('standings_update', standings(3, { driverId: 'drv-1', simSessionId: race, entries: [entry(0, { position: 2 })] })),
      ],
      1,
    );
    expect(standingsForDriver(s, 'drv-1')?.entries[0]?.position).toBe(2);
    // drv-2's session has no standings yet: nothing, never drv-1's car 0.
    expect(standingsForDriver(s, 'drv-2')).toBeNull();
    s = applyMessages(s, [M('standings_update', standings(3, { driverId: 'drv-2', simSessionId: practice, entries: [entry(0, { position: 24 })] }))], 2);
    expect(standingsForDriver(s, 'drv-1')?.entries[0]?.position).toBe(2);
    expect(standingsForDriver(s, 'drv-2')?.entries[0]?.position).toBe(24);
    // Pace histories are per session too.
    expect(Object.keys(s.pace).sort()).toEqual([race, practice].sort());
  });

  it('messages: deduplicated by id, sorted by time, capped; read receipts and unread counts', () => {
    let s = applyMessages(me, [M('team_message', message({ id: 'b', sentAt: '2026-11-26T16:06:00Z', senderId: 'drv-1' })), M('team_message', message({ id: 'a', senderId: 'drv-1' }))], 1);
    s = applyMessages(s, [M('team_message', message({ id: 'a', senderId: 'drv-1', content: 'edited' }))], 2);
    expect(s.messages.map((m) => m.id)).toEqual(['a', 'b']);
    expect(s.messages[0]!.content).toBe('edited');
    expect(unreadMessages(s)).toHaveLength(2);
    s = applyMessages(s, [M('message_read', { messageId: 'a', readerId: 'eng-1', readAt: 't1' }), M('message_read', { messageId: 'a', readerId: 'drv-2', readAt: 't2' })], 3);
    expect(s.receipts.a).toEqual({ 'eng-1': 't1', 'drv-2': 't2' });
    expect(unreadMessages(s).map((m) => m.id)).toEqual(['b']);
    const many = Array.from({ length: LIMITS.messages + 10 }, (_, i) => M('team_message', message({ id: `m${i}`, sentAt: `2026-11-26T17:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z` })));
    s = applyMessages(s, many, 4);
    expect(s.messages).toHaveLength(LIMITS.messages);
    expect(s.messages[s.messages.length - 1]!.id).toBe(`m${LIMITS.messages + 9}`);
  });

  it('own messages are never unread', () => {
    const s = applyMessages(me, [M('team_message', message({ senderId: 'eng-1' }))], 1);
    expect(unreadMessages(s)).toHaveLength(0);
  });

  it('handoffs: the state machine history from request and responses', () => {
    let s = applyMessages(me, [M('handoff_request', handoff({ telemetrySnapshot: { ...telemetry(), driverId: undefined } as never }))], 1);
    expect(pendingHandoffs(s)).toHaveLength(1);
    s = applyMessages(s, [M('handoff_response', { handoffId: 'ho-1', status: 'accepted', responderId: 'drv-2', respondedAt: 't2' })], 2);
    // the server also re-sends the request with the new status (and maybe no snapshot)
    s = applyMessages(s, [M('handoff_request', handoff({ status: 'accepted', telemetrySnapshot: null }))], 3);
    expect(s.handoffs['ho-1']!.req.status).toBe('accepted');
    expect(s.handoffs['ho-1']!.req.telemetrySnapshot).not.toBeNull();
    expect(s.handoffs['ho-1']!.history.map((h) => [h.status, h.by])).toEqual([
      ['pending', 'drv-1'],
      ['accepted', 'drv-2'],
    ]);
    s = applyMessages(s, [M('handoff_response', { handoffId: 'ho-1', status: 'completed', responderId: 'eng-1', respondedAt: 't4' })], 4);
    expect(pendingHandoffs(s)).toHaveLength(0);
    expect(applyMessages(s, [M('handoff_response', { handoffId: 'nope', status: 'completed', responderId: 'x', respondedAt: 't' })], 5)).toBe(s);
  });

  it('coaching newest first, errors capped', () => {
    let s = applyMessages(me, [M('ai_coaching', coaching({ lap: 1 })), M('ai_coaching', coaching({ lap: 2 }))], 1);
    expect(s.coaching.map((c) => c.lap)).toEqual([2, 1]);
    for (let i = 0; i < LIMITS.errors + 5; i++) s = applyMessages(s, [M('error', { code: 'forbidden', message: `e${i}` })], i);
    expect(s.errors).toHaveLength(LIMITS.errors);
    expect(s.errors[s.errors.length - 1]!.message).toBe(`e${LIMITS.errors + 4}`);
  });

  it('coaching heard live and again from the REST history is kept once, ordered by time', () => {
    const live = coaching({ lap: 3, timestamp: '2026-11-26T16:05:00Z', feedback: 'Lap 3' });
    const older = coaching({ lap: 2, timestamp: '2026-11-26T16:04:00Z', feedback: 'Lap 2' });
    let s = applyMessages(me, [M('ai_coaching', live)], 1);
    s = applyMessages(s, [M('ai_coaching', older), M('ai_coaching', { ...live })], 2);
    expect(s.coaching.map((c) => c.lap)).toEqual([3, 2]);
    // Same time and lap but other words: a different message, kept.
    s = applyMessages(s, [M('ai_coaching', { ...live, feedback: 'Lap 3, again' })], 3);
    expect(s.coaching).toHaveLength(3);
  });

  it('strategy_update: the latest per team and driver; a late older one does not replace it', () => {
    const a = strategyUpdate({ lap: 40 });
    let s = applyMessages(me, [M('strategy_update', a)], 1);
    expect(s.strategy['team-apex/drv-1']).toEqual({ update: a, at: 1 });
    const b = strategyUpdate({ lap: 41, timestamp: '2026-11-26T16:41:30Z' });
    s = applyMessages(s, [M('strategy_update', b), M('strategy_update', a)], 2);
    expect(s.strategy['team-apex/drv-1']!.update.lap).toBe(41);
    // The next driver of the car: kept apart; the newest is the team's live plan.
    const c = strategyUpdate({ driverId: 'drv-2', lap: 42, timestamp: '2026-11-26T16:43:00Z' });
    s = applyMessages(s, [M('strategy_update', c)], 3);
    expect(Object.keys(s.strategy).sort()).toEqual(['team-apex/drv-1', 'team-apex/drv-2']);
    expect(latestStrategy(s)?.update).toBe(c);
    expect(latestStrategy(me)).toBeNull();
  });

  it('profiles fill names and roles without overriding live status', () => {
    let s = applyMessages(me, [M('driver_status', status({ status: 'active' }))], 1);
    s = applyProfiles(s, [
      { id: 'drv-1', name: 'Alex', team: 't', number: 23, status: 'inactive', role: 'primary', avatarUrl: '', telemetryConnected: false, lastActive: 'x' },
      { id: 'drv-2', name: 'Jo', team: 't', number: 23, status: 'standby', role: 'secondary', avatarUrl: '', telemetryConnected: false, lastActive: 'y' },
    ]);
    expect(s.drivers['drv-1']).toMatchObject({ name: 'Alex', role: 'primary', status: 'active' });
    expect(s.drivers['drv-2']).toMatchObject({ name: 'Jo', status: 'standby' });
    expect(driverName(s, 'drv-2')).toBe('Jo');
    expect(driverName(s, 'unknown')).toBe('unknown');
  });
});
