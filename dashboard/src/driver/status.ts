// The things a driver checks before a stint — the sim, the link to the team, the cloud, the voice
// and whether their screen is being sent — each as one line: ok or not, and in plain words why not.
import type { AgentStatus, VoiceStatus } from './api';

export type Level = 'ok' | 'warn' | 'bad';

export interface StatusLine {
  key: 'sim' | 'relay' | 'cloud' | 'voice' | 'video';
  name: string;
  level: Level;
  /** A few words: "connected", "iRacing not running". */
  text: string;
  /** Why, when it is not ok (or a detail worth knowing). */
  reason: string | null;
}

/** Samples older than this still on disk while the link is up: a backlog going out. */
export const CATCH_UP_AFTER_S = 10;

const count = (n: number) => n.toLocaleString('en-US');

/** "14:02": a wall-clock time on the driver's PC. */
export function hhmm(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function sim(s: AgentStatus): StatusLine {
  const name = 'Sim';
  const iracing = s.source === 'iracing';
  switch (s.sourceState) {
    case 'connected':
      return { key: 'sim', name, level: 'ok', text: 'connected', reason: iracing ? 'iRacing' : `source ${s.source}` };
    case 'waiting':
      return { key: 'sim', name, level: 'warn', text: iracing ? 'iRacing not running' : 'waiting for the source', reason: iracing ? 'start iRacing: PitBox connects by itself' : `source ${s.source}` };
    case 'disconnected':
      return { key: 'sim', name, level: 'bad', text: iracing ? 'iRacing went away' : 'the source went away', reason: 'waiting for it to come back' };
    case 'finished':
      return { key: 'sim', name, level: 'warn', text: 'the replay ended', reason: `source ${s.source}` };
    default:
      return { key: 'sim', name, level: 'warn', text: s.sourceState, reason: null };
  }
}

/** "spooling 1,240 samples, cloud unreachable since 14:02" while samples wait on disk. */
export function spooling(s: AgentStatus): string | null {
  const sp = s.spool;
  if (!sp || sp.samples <= 0) return null;
  const where = s.upstream === 'cloud' ? 'cloud' : 'relay';
  const since = s.relayState !== 'ok' && sp.unreachableSince ? `, ${where} unreachable since ${hhmm(sp.unreachableSince)}` : ', sending';
  const full = sp.nearFull ? ` — the spool is ${Math.round(sp.fullFraction * 100)} % full` : '';
  return `spooling ${count(sp.samples)} samples${since}${full}`;
}

function link(s: AgentStatus): StatusLine {
  const where = s.upstream === 'cloud' ? 'cloud' : 'relay';
  const name = s.upstream === 'cloud' ? 'Team link (cloud)' : 'Relay';
  const spool = spooling(s);
  const base = { key: 'relay' as const, name };
  switch (s.relayState) {
    case 'ok': {
      // Samples wait on disk a moment before each acknowledged batch: only a backlog is news.
      const behind = s.spool && (s.spool.nearFull || (s.spool.oldestAgeSecs ?? 0) > CATCH_UP_AFTER_S);
      return { ...base, level: behind ? 'warn' : 'ok', text: 'ok', reason: behind ? `catching up: ${spool}` : `${count(s.telemetrySent)} samples sent` };
    }
    case 'refused':
      return { ...base, level: 'bad', text: `the ${where} refuses samples`, reason: s.lastRefusal ? `${s.lastRefusal.code}: ${s.lastRefusal.message}` : null };
    case 'unauthorised':
      return { ...base, level: 'bad', text: `the ${where} refused the sign-in`, reason: s.lastRefusal?.message ?? 'sign in again' };
    case 'disconnected':
      return { ...base, level: 'bad', text: 'disconnected', reason: spool ?? `the ${where} cannot be reached: connecting again` };
    case 'off':
      return { ...base, level: 'warn', text: 'off', reason: 'not signed in and no token: nothing goes to the team' };
    default:
      return { ...base, level: 'warn', text: s.relayState, reason: null };
  }
}

function cloud(s: AgentStatus): StatusLine {
  const name = 'Cloud';
  const base = { key: 'cloud' as const, name };
  const l = s.login;
  if (!l) {
    return s.relayState === 'off'
      ? { ...base, level: 'warn', text: 'not signed in', reason: 'sign in to reach the team' }
      : { ...base, level: 'ok', text: 'a fixed token', reason: 'not signed in: the token given at start is used' };
  }
  const until = l.expiresAt > 0 ? new Date(l.expiresAt * 1000).toISOString() : null;
  switch (l.state) {
    case 'ok':
      return { ...base, level: 'ok', text: `signed in as ${l.username}`, reason: null };
    case 'retrying':
      return { ...base, level: 'warn', text: 'cloud unreachable', reason: `${l.lastError ?? 'retrying'}; the sign-in works until ${hhmm(until)}` };
    case 'waiting':
      return { ...base, level: 'warn', text: 'signing in', reason: l.lastError ?? 'waiting for the cloud' };
    case 'refused':
      return { ...base, level: 'bad', text: 'the cloud ended the sign-in', reason: l.lastError ?? 'sign in again' };
    default:
      return { ...base, level: 'warn', text: l.state, reason: l.lastError ?? null };
  }
}

const fine = (v: string) => v === 'ready' || v === 'not started' || v === 'not loaded';

function voice(v: VoiceStatus | null): StatusLine {
  const base = { key: 'voice' as const, name: 'Voice' };
  if (!v) return { ...base, level: 'warn', text: 'unknown', reason: 'the agent did not say' };
  if (!v.enabled) return { ...base, level: 'warn', text: 'off', reason: 'callouts and voice commands are off' };
  if (!fine(v.speech)) return { ...base, level: 'bad', text: 'callouts not spoken', reason: v.speech };
  if (!fine(v.recognizer)) return { ...base, level: 'warn', text: 'commands not heard', reason: v.recognizer };
  return { ...base, level: 'ok', text: `${v.engine} · ${v.output}`, reason: v.carCalloutsHeld ? `car callouts held: ${v.carCalloutsHeld}` : null };
}

/** Whether the driver's screen goes to the team: the driver always knows when it does. */
function video(s: AgentStatus): StatusLine {
  const base = { key: 'video' as const, name: 'Video' };
  const v = s.video;
  if (!v) return { ...base, level: 'ok', text: 'off', reason: 'your screen is not sent (pitbox driver --video … sends it)' };
  const what = `${v.source} · ${v.size} · ${v.fps} fps`;
  if (v.paused) return { ...base, level: 'ok', text: 'stopped', reason: 'you stopped sending your screen' };
  if (v.sending) return { ...base, level: 'ok', text: 'sending to the team', reason: `${what} · ${(v.bitrateBps / 1e6).toFixed(1)} Mbit/s` };
  if (v.error) return { ...base, level: 'bad', text: 'not sending', reason: v.error };
  const where = s.upstream === 'cloud' ? 'cloud' : 'relay';
  return { ...base, level: 'warn', text: 'not sending', reason: s.relayState === 'ok' ? `${what}: starting` : `${what}: waiting for the ${where}` };
}

export function statusLines(s: AgentStatus, v: VoiceStatus | null): StatusLine[] {
  return [sim(s), link(s), cloud(s), voice(v), video(s)];
}
