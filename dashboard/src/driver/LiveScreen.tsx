import { gearText, lapTime, num } from '../app/format';
import type { LocalApi, LivePlan, Snapshot } from './api';
import type { Act } from './StatusScreen';
import { TeamRadio } from './TeamRadio';

/** A plan older than this is marked stale: the pit wall sends one a lap. */
export const PLAN_STALE_MS = 180_000;

function Tile({ label, value, id, tone }: { label: string; value: string; id: string; tone?: string | undefined }) {
  return (
    <div className={`drv-tile${tone ? ` ${tone}` : ''}`}>
      <dt>{label}</dt>
      <dd data-testid={id}>{value}</dd>
    </div>
  );
}

const secs = (v: number | null | undefined) => num(v, 1, ' s');

function planText(p: LivePlan): string {
  if (!p.pitWindow) return 'no stop needed';
  const fuel = p.nextStopFuelL !== null && p.nextStopFuelL !== undefined ? `, ${Math.ceil(p.nextStopFuelL)} L` : '';
  return `box laps ${p.pitWindow.opensLap}–${p.pitWindow.closesLap}${fuel}`;
}

/** The numbers a driver reads on the straight, then the team radio. */
export function LiveScreen({ snap, now, act, api }: { snap: Snapshot; now: number; act: Act; api: LocalApi }) {
  const c = snap.current;
  const r = snap.status.race;
  const p = snap.status.plan;
  const stale = p ? now - Date.parse(p.at) > PLAN_STALE_MS : false;
  const mark = stale ? ' (stale)' : '';
  const position = r?.position ?? c?.position ?? null;
  return (
    <div className="drv-live">
      <section aria-labelledby="h-live" className="drv-card">
        <h2 id="h-live">Live</h2>
        {!c && <p className="warn">No telemetry yet: the sim has not sent a sample.</p>}
        <dl className="drv-tiles">
          <Tile label="Lap" id="lap" value={c ? String(c.lap) : '—'} />
          <Tile label="Position" id="position" value={position ? `P${position}` : '—'} />
          <Tile label="Gap ahead" id="gap-ahead" value={secs(r?.gapAheadS)} />
          <Tile label="Gap behind" id="gap-behind" value={secs(r?.gapBehindS)} />
          <Tile label="Fuel laps left" id="fuel-laps" value={p ? `${num(p.fuelLapsLeft, 1)}${mark}` : '—'} tone={stale ? 'warn' : undefined} />
          <Tile label="Last lap" id="last-lap" value={lapTime(r?.lastLapS)} />
          <Tile label="Best lap" id="best-lap" value={lapTime(r?.bestLapS)} />
          <Tile label="Speed" id="speed" value={c ? `${Math.round(c.speed)} km/h` : '—'} />
          <Tile label="Gear" id="gear" value={c ? gearText(c.gear) : '—'} />
          <Tile label="Fuel" id="fuel" value={c ? `${Math.round(c.fuelLevel)} %` : '—'} />
        </dl>
        <p className={`drv-plan${stale ? ' warn' : ''}`} data-testid="plan">
          {p ? `Plan: ${planText(p)}, ${p.lapsRemaining} laps to go${p.fuelSaveToSkipStopLpl !== null && p.fuelSaveToSkipStopLpl !== undefined ? `; save ${p.fuelSaveToSkipStopLpl} L a lap to skip a stop` : ''}${mark}` : 'No live plan yet'}
        </p>
      </section>
      <TeamRadio messages={snap.messages} me={snap.status.driverId} pit={snap.status.pitCommand} act={act} api={api} />
    </div>
  );
}
