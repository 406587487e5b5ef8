import { DriverName, EntryName } from '../components/DriverName';
import { useEffect, useRef, useState } from 'react';
import { useApp, useServices } from '../app/context';
import { staleFor } from '../app/format';
import { useNow } from '../app/hooks';
import { Freshness } from '../components/Freshness';
import { SessionPicker } from '../components/SessionPicker';
import { driverSessionKey, sessionKey, viewedStandings } from '../store/app';
import type { StandingsEntry } from '../protocol/types';
import type { TrackOutline } from '../store/trackOutline';

interface Dot {
  key: string;
  label: string;
  pos: number;
  team: boolean;
  pit: boolean;
  followed: boolean;
}

type Projection = { pts: Array<[number, number]>; at: (p: number) => [number, number] | null; path: Path2D | null } | null;
let cache: { outline: TrackOutline; version: number; w: number; h: number; proj: Projection } | null = null;

/** The outline in canvas pixels; recomputed only when the outline or the canvas size changed. */
function project(outline: TrackOutline, w: number, h: number): Projection {
  if (cache && cache.outline === outline && cache.version === outline.version && cache.w === w && cache.h === h) return cache.proj;
  const proj = computeProjection(outline, w, h);
  cache = { outline, version: outline.version, w, h, proj };
  return proj;
}

function computeProjection(outline: TrackOutline, w: number, h: number): Projection {
  const pts = outline.points();
  if (pts.length < 10) return null;
  let minX = Infinity,
    maxX = -Infinity,
    minY = Infinity,
    maxY = -Infinity;
  for (const [x, y] of pts) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const pad = 24;
  const s = Math.min((w - 2 * pad) / (maxX - minX || 1), (h - 2 * pad) / (maxY - minY || 1));
  const ox = (w - (maxX - minX) * s) / 2;
  const oy = (h - (maxY - minY) * s) / 2;
  const tx = (x: number, y: number): [number, number] => [ox + (x - minX) * s, h - (oy + (y - minY) * s)];
  const screen = pts.map(([x, y]) => tx(x, y));
  let path: Path2D | null = null;
  if (typeof Path2D !== 'undefined') {
    path = new Path2D();
    screen.forEach(([x, y], i) => (i === 0 ? path!.moveTo(x, y) : path!.lineTo(x, y)));
    path.closePath();
  }
  const lookup = new Map<number, [number, number] | null>();
  return {
    pts: screen,
    path,
    at: (p: number) => {
      const k = Math.round(p * 2000);
      let v = lookup.get(k);
      if (v === undefined) {
        const q = outline.at(k / 2000);
        v = q ? tx(q[0], q[1]) : null;
        lookup.set(k, v);
      }
      return v;
    },
  };
}

/** Draws the outline (or a schematic circle while none is learned) and every car by trackPosition. */
function draw(ctx: CanvasRenderingContext2D, w: number, h: number, outline: TrackOutline, dots: Dot[]) {
  ctx.clearRect(0, 0, w, h);
  const proj = project(outline, w, h);
  const cx = w / 2,
    cy = h / 2,
    r = Math.min(w, h) / 2 - 28;
  const at = (p: number): [number, number] => {
    const q = proj?.at(p);
    if (q) return q;
    const a = p * 2 * Math.PI - Math.PI / 2;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  };
  ctx.lineWidth = 10;
  ctx.strokeStyle = '#3a4250';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  if (proj?.path) {
    ctx.stroke(proj.path);
  } else if (proj) {
    proj.pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.closePath();
  } else {
    ctx.setLineDash([6, 6]);
    ctx.arc(cx, cy, r, 0, 2 * Math.PI);
  }
  ctx.stroke();
  ctx.setLineDash([]);
  // start/finish
  const [sx, sy] = at(0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(sx - 2, sy - 8, 4, 16);
  const order = dots.slice().sort((a, b) => Number(a.team) - Number(b.team) || Number(a.followed) - Number(b.followed));
  for (const d of order) {
    const [x, y] = at(d.pos);
    ctx.beginPath();
    ctx.arc(x, y, d.followed ? 9 : d.team ? 7 : 4.5, 0, 2 * Math.PI);
    ctx.fillStyle = d.team ? '#ffca28' : d.pit ? '#607d8b' : '#90caf9';
    ctx.fill();
    if (d.pit) {
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    if (d.followed) {
      ctx.strokeStyle = '#ff4081';
      ctx.lineWidth = 3;
      ctx.stroke();
    }
    if (d.team || d.followed) {
      ctx.fillStyle = '#ffffff';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText(d.label, x + 10, y - 10);
    }
  }
}

export function TrackMap() {
  const { sinks } = useServices();
  const standings = useApp(viewedStandings);
  const drivers = useApp((s) => s.drivers);
  const carIdxByDriver = useApp((s) => s.carIdxByDriver);
  const now = useNow(1000);
  // Team drivers in the car whose position on the map is their last one received.
  const stale = Object.values(drivers).filter((d) => d.inCar && staleFor(d.latestAt, now) !== null);
  const session = useApp((s) => s.session);
  const [follow, setFollow] = useState<string>('');
  const canvas = useRef<HTMLCanvasElement>(null);
  const dotsRef = useRef<Dot[]>([]);
  const [source, setSource] = useState(sinks.outline.source);
  const [coverage, setCoverage] = useState(0);

  const sessionByDriver = useApp((s) => s.sessionByDriver);
  // Only the team's drivers in the session shown: another session's car index is another car.
  const viewedKey = standings ? sessionKey(standings) : null;
  const inView = (driverId: string) => viewedKey === null || driverSessionKey({ sessionByDriver }, driverId) === viewedKey;
  const teamCars = new Set(Object.entries(carIdxByDriver).filter(([id]) => inView(id)).map(([, idx]) => idx));
  const entries: StandingsEntry[] = standings?.entries ?? [];
  const dots: Dot[] = entries.map((e) => ({
    key: `car-${e.carIdx}`,
    label: `#${e.carNumber}`,
    pos: e.trackPosition,
    team: e.isTeamCar || teamCars.has(e.carIdx),
    pit: e.onPitRoad,
    followed: follow === `car-${e.carIdx}`,
  }));
  // Team cars known only from telemetry (no standings yet).
  for (const d of Object.values(drivers)) {
    if (!d.latest || !d.inCar || !inView(d.id)) continue;
    const idx = carIdxByDriver[d.id];
    if (idx !== undefined && entries.some((e) => e.carIdx === idx)) continue;
    dots.push({ key: `drv-${d.id}`, label: d.name ?? d.id, pos: d.latest.trackPosition, team: true, pit: !!d.latest.onPitRoad, followed: follow === `drv-${d.id}` });
  }
  dotsRef.current = dots;
  const followed = dots.find((d) => d.followed);
  const followedEntry = followed ? entries.find((e) => `car-${e.carIdx}` === followed.key) : undefined;
  const inPit = entries.filter((e) => e.onPitRoad);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    let raf = 0;
    let lastKey = '';
    const tick = () => {
      raf = requestAnimationFrame(tick);
      const rect = c.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(200, Math.floor(rect.width));
      const h = Math.max(200, Math.floor(rect.height));
      const key = `${w}x${h}:${sinks.outline.version}:${dotsRef.current.map((d) => d.pos.toFixed(4) + d.followed).join()}`;
      if (key === lastKey) return;
      lastKey = key;
      if (c.width !== w * dpr || c.height !== h * dpr) {
        c.width = w * dpr;
        c.height = h * dpr;
      }
      const ctx = c.getContext('2d');
      if (!ctx) return;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      draw(ctx, w, h, sinks.outline, dotsRef.current);
      const cov = sinks.outline.coverage();
      setSource(cov > 0.05 ? sinks.outline.source : 'none');
      setCoverage(Math.round(cov * 100));
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [sinks]);

  return (
    <div className="view trackmap">
      <div className="row">
        <h2>Track map</h2>
        <SessionPicker />
        <label className="inline">
          Follow
          <select value={follow} onChange={(e) => setFollow(e.target.value)} aria-label="Follow a car">
            <option value="">no car</option>
            {dots.map((d) => (
              <option key={d.key} value={d.key}>
                {d.label}
                {d.team ? ' (team)' : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted small" data-testid="outline-source">
        {session ? `${session.track.displayName} · ` : ''}
        {source === 'gps'
          ? `Outline from position fixes (${coverage} % of the lap seen).`
          : source === 'path'
            ? "Outline learned from the followed driver's path (speed and yaw rate over a full lap)."
            : 'Schematic circle: the outline appears once a car has driven with position data, or a full lap with yaw data.'}
      </p>
      <div className="map-layout">
        <canvas ref={canvas} className="map" role="img" aria-label={`Track map with ${dots.length} cars${followed ? `, following ${followed.label}` : ''}`} data-cars={dots.length} />
        <aside className="map-side">
          {dots.length === 0 && <p className="empty">No cars yet: positions arrive with standings and telemetry.</p>}
          {stale.length > 0 && (
            <section aria-label="Stale positions" className="stale-list">
              <h3>Last known position</h3>
              <ul>
                {stale.map((d) => (
                  <li key={d.id}>
                    <DriverName id={d.id} showRole={false} /> <Freshness latestAt={d.latestAt} now={now} name={d.name ?? d.id} />
                  </li>
                ))}
              </ul>
            </section>
          )}
          {followed && (
            <section className="card" aria-label="Followed car" data-testid="followed">
              <h3>{followed.label}</h3>
              {followedEntry ? (
                <p>
                  P{followedEntry.position} · <EntryName e={followedEntry} /> · lap {followedEntry.lap} · {(followedEntry.trackPosition * 100).toFixed(1)} %
                  {followedEntry.onPitRoad ? ' · in pit lane' : ''}
                </p>
              ) : (
                <p>{(followed.pos * 100).toFixed(1)} % of the lap</p>
              )}
            </section>
          )}
          <section aria-label="Pit lane">
            <h3>Pit lane</h3>
            {inPit.length === 0 ? (
              <p className="muted">No car in the pit lane.</p>
            ) : (
              <ul>
                {inPit.map((e) => (
                  <li key={e.carIdx} className={e.isTeamCar ? 'team' : undefined}>
                    #{e.carNumber} <EntryName e={e} /> · stops {e.pitStops}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <p className="legend small">
            <span className="sw team" /> team car <span className="sw other" /> other car <span className="sw pit" /> in pit lane
          </p>
        </aside>
      </div>
    </div>
  );
}
