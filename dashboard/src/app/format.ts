// Formatting for racing numbers: lap times m:ss.mmm, gaps +s.sss, durations h:mm:ss.
export function lapTime(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s) || s <= 0) return '—';
  // Rounded to the millisecond first, so 59.9996 is 1:00.000, never 0:60.000.
  const ms = Math.round(s * 1000);
  const m = Math.floor(ms / 60_000);
  const rest = (ms - m * 60_000) / 1000;
  // Always m:ss.mmm, as `pitbox ibt laps` prints it (0:25.914), so one lap reads the same everywhere.
  return `${m}:${rest.toFixed(3).padStart(6, '0')}`;
}

/** Where the car is, as the sim says; `live` is false when the numbers are not the player driving now. */
export function carState(
  t: { onPitRoad?: boolean; onTrack?: boolean; inGarage?: boolean; replayPlaying?: boolean } | null | undefined,
  inPitLane?: boolean,
): { text: string; live: boolean } {
  if (!t) return { text: '—', live: false };
  if (t.replayPlaying) return { text: 'replay playing — not live', live: false };
  if (t.inGarage) return { text: 'in the garage', live: false };
  if (t.onTrack === false) return { text: 'not in the car', live: false };
  return { text: (inPitLane ?? t.onPitRoad) ? 'in pit lane' : 'on track', live: true };
}

export function gap(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s === 0) return 'leader';
  return `+${s.toFixed(3)}`;
}

export function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  const t = Math.floor(ms / 1000);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

export function age(ms: number | null): string {
  if (ms === null) return 'no data yet';
  if (ms < 1000) return `${(ms / 1000).toFixed(1)} s old`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s old`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min old`;
  return `${Math.round(ms / 3_600_000)} h old`;
}

/** A driver whose newest sample is older than this is stale on every view (issue 21). */
export const STALE_AFTER_MS = 2000;

/** Whether a driver's numbers are stale: their newest sample (receive time `latestAt`) is older
 * than `afterMs` ([STALE_AFTER_MS] by default); `null` when no sample has come yet. */
export function staleFor(latestAt: number | null, now: number, afterMs = STALE_AFTER_MS): number | null {
  if (latestAt === null) return null;
  const ms = Math.max(0, now - latestAt);
  return ms > afterMs ? ms : null;
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function num(v: number | null | undefined, digits = 0, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${v.toFixed(digits)}${unit}`;
}

export function gearText(g: number | null | undefined): string {
  if (g === null || g === undefined) return '—';
  return g === -1 ? 'R' : g === 0 ? 'N' : String(g);
}
