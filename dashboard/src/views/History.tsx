// History: events (one iRacing subsession each) → their sessions → the laps as the sim timed
// them, with stints and the standings stored per session; .ibt upload into the team's history
// and lap/session downloads. Engineers and admins choose a lap of the history as the one a driver's
// in-car cues before the corner are made against (docs/protocol.md `cue_reference`). Types are the
// cloud's (src/api/openapi.ts).
import { useCallback, useEffect, useMemo, useState, type DragEvent } from 'react';
import { ApiError } from '../api/auth';
import { clearCueReference, getCueReference, setCueReference } from '../api/cueReference';
import { ENDPOINTS } from '../api/endpoints';
import { getEvent, listEvents, listLaps, type ApiEvent, type ApiEventDetail, type ApiImportResult, type ApiStoredStandings, type LapSummary } from '../api/laps';
import { useApp, useServices } from '../app/context';
import { lapTime } from '../app/format';
import type { CueReference } from '../protocol/types';
import { driverName, teamDrivers, withCueReference } from '../store/app';
import { shallowEqual } from '../store/store';

type Load<T> = { state: 'idle' } | { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; why: string };

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The best valid lap's id (never an out, in or pit lap: those are not valid). */
export function bestValidLap(laps: LapSummary[]): string | null {
  let best: LapSummary | null = null;
  for (const l of laps) if (l.valid && l.timeS !== null && (best === null || l.timeS < (best.timeS ?? Infinity))) best = l;
  return best?.id ?? null;
}

function when(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}

/** Engineers and admins choose cue references; drivers and viewers do not. */
function useCanChooseCues(): boolean {
  const { auth } = useServices();
  const me = useApp((s) => s.me);
  const role = me?.role ?? auth.session?.user.role ?? 'viewer';
  return role === 'engineer' || role === 'admin';
}

/** id → a person's name: the drivers' profiles, the signed-in user, else the id. */
function useNames(): (id: string) => string {
  const { store } = useServices();
  const me = useApp((s) => s.me);
  const names = useApp((s) => Object.fromEntries(Object.values(s.drivers).map((d) => [d.id, d.name])), shallowEqual);
  return useCallback((id: string) => names[id] ?? (id === me?.id ? me.username : driverName(store.getState(), id)), [names, me, store]);
}

/** "lap 2 of alex at Tsukuba, 0:23.980 — set by sam at 2026-11-26 16:05", or "own best lap". */
export function describeCueReference(r: CueReference, name: (id: string) => string): string {
  if (!r.lapId) return 'own best lap';
  const time = r.lapTimeS !== null && r.lapTimeS !== undefined ? `, ${lapTime(r.lapTimeS)}` : '';
  return `${r.name ?? r.lapId}${time} — set by ${name(r.setBy)} at ${when(r.timestamp)}`;
}

/** What each driver's cues are made against, with "Use own best lap" (engineers and admins). */
function CueReferences({ team, name }: { team: string[]; name: (id: string) => string }) {
  const { auth, store } = useServices();
  const refs = useApp((s) => s.cueReferences);
  const [unread, setUnread] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    let live = true;
    for (const id of team)
      getCueReference(auth, id)
        // 404: the own best lap; an empty timestamp never replaces a newer choice seen meanwhile.
        .then((r) => live && store.setState((s) => withCueReference(s, r ?? { driverId: id, setBy: '', timestamp: '' })))
        .catch((e) => live && setUnread((u) => ({ ...u, [id]: errText(e) })));
    return () => {
      live = false;
    };
  }, [auth, store, team]);
  const ownBest = async (id: string) => {
    setBusy(id);
    setMsg(null);
    try {
      await clearCueReference(auth, id);
      store.setState((s) => withCueReference(s, { driverId: id, setBy: auth.session?.user.id ?? '', timestamp: new Date().toISOString() }));
      setMsg({ ok: true, text: `Cues for ${name(id)} are made against their own best lap again.` });
    } catch (e) {
      setMsg({ ok: false, text: `Cues for ${name(id)} were not changed: ${errText(e)}` });
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="card cue-refs" aria-labelledby="cue-refs-title" data-testid="cue-references">
      <h3 id="cue-refs-title">Cue references</h3>
      <p className="muted small">The lap each driver's in-car cues before the corner are made against. Choose another lap in a session's lap table.</p>
      <ul>
        {team.map((id) => {
          const r = refs[id];
          return (
            <li key={id} data-testid={`cue-ref-${id}`}>
              <strong>{name(id)}</strong> — Cue reference: {r ? describeCueReference(r, name) : unread[id] ? <span className="bad">unavailable: {unread[id]}</span> : 'loading…'}{' '}
              {r?.lapId ? (
                <button type="button" className="small" disabled={busy !== null} aria-label={`Use own best lap for ${name(id)}`} onClick={() => void ownBest(id)}>
                  Use own best lap
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok' : 'bad'} data-testid="cue-ref-result">
          {msg.text}
        </p>
      ) : null}
    </section>
  );
}

/** A lap row's "Cue reference for…": a driver and the button that makes their cues use this lap. */
function CuePick({ lap, team, name, onResult }: { lap: LapSummary; team: string[]; name: (id: string) => string; onResult: (m: { ok: boolean; text: string }) => void }) {
  const { auth, store } = useServices();
  const [picked, setPicked] = useState('');
  const [busy, setBusy] = useState(false);
  const who = picked && team.includes(picked) ? picked : (team[0] ?? '');
  const go = async () => {
    setBusy(true);
    try {
      const r = await setCueReference(auth, who, lap.id);
      store.setState((s) => withCueReference(s, r));
      onResult({ ok: true, text: `Cues for ${name(who)} are now made against lap ${lap.lap} (${lapTime(r.lapTimeS ?? lap.timeS)})` });
    } catch (e) {
      onResult({ ok: false, text: `Lap ${lap.lap} was not chosen for ${name(who)}'s cues: ${errText(e)}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="cue-pick">
      <label className="inline">
        Cue reference for…<span className="sr-only"> (lap {lap.lap})</span>{' '}
        <select value={who} onChange={(e) => setPicked(e.target.value)} disabled={team.length === 0}>
          {team.length === 0 ? <option value="">no drivers</option> : null}
          {team.map((id) => (
            <option key={id} value={id}>
              {name(id)}
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="button" className="small" disabled={!who || busy} onClick={() => void go()}>
        Use lap {lap.lap} for cues
      </button>
    </span>
  );
}

function Download({ path, name, label }: { path: string; name: string; label: string }) {
  const { auth } = useServices();
  const [err, setErr] = useState<string | null>(null);
  const go = useCallback(async () => {
    setErr(null);
    try {
      const blob = await auth.fetchBlob(path);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setErr(errText(e));
    }
  }, [auth, path, name]);
  return (
    <>
        <button type="button" className="link" onClick={() => void go()} title={`Download ${name}`}>
          {label}
        </button>
        {err ? (
          <span role="alert" className="bad">
            {' '}
            {err}
          </span>
        ) : null}
    </>
  );
}

function Upload({ onDone }: { onDone: (r: ApiImportResult) => void }) {
  const { auth } = useServices();
  const me = auth.session?.user;
  const drivers = useApp((s) => s.drivers);
  const choices = useMemo(() => {
    const ids = new Set(Object.keys(drivers));
    if (me?.role === 'driver') ids.add(me.id);
    return [...ids].sort();
  }, [drivers, me]);
  const [driverId, setDriverId] = useState(me?.role === 'driver' ? me.id : '');
  const [progress, setProgress] = useState<number | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [over, setOver] = useState(false);
  const send = useCallback(
    async (file: File) => {
      const who = driverId.trim() || (me?.role === 'driver' ? me.id : '');
      if (!who) {
        setMsg({ ok: false, text: 'Choose the driver the file belongs to.' });
        return;
      }
      if (!file.name.toLowerCase().endsWith('.ibt')) {
        setMsg({ ok: false, text: `${file.name} is not an iRacing .ibt file.` });
        return;
      }
      setMsg(null);
      setProgress(0);
      try {
        const r = await auth.upload<ApiImportResult>(ENDPOINTS.importIbt(who), file, setProgress);
        setMsg({ ok: true, text: `Imported ${file.name}: ${r.track}, ${r.car}, ${r.laps} laps, ${r.samples} samples.` });
        onDone(r);
      } catch (e) {
        setMsg({ ok: false, text: `${file.name} was not imported: ${e instanceof ApiError ? e.message : errText(e)}` });
      } finally {
        setProgress(null);
      }
    },
    [auth, driverId, me, onDone],
  );
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const f = e.dataTransfer.files[0];
    if (f) void send(f);
  };
  return (
    <section
      className={`card upload${over ? ' over' : ''}`}
      aria-label="Upload an .ibt file"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
    >
      <h3>Upload an .ibt file</h3>
      <div className="row">
        <label className="inline">
          Driver{' '}
          <input list="history-drivers" value={driverId} onChange={(e) => setDriverId(e.target.value)} placeholder="driver's user id" />
          <datalist id="history-drivers">
            {choices.map((d) => (
              <option key={d} value={d} />
            ))}
          </datalist>
        </label>
        <label className="inline">
          File{' '}
          <input
            type="file"
            accept=".ibt"
            data-testid="ibt-file"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void send(f);
              e.target.value = '';
            }}
          />
        </label>
        <span className="muted">or drop it here</span>
      </div>
      {progress !== null ? <progress max={1} value={progress} aria-label="Upload progress" /> : null}
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? undefined : 'bad'} data-testid="upload-result">
          {msg.text}
        </p>
      ) : null}
    </section>
  );
}

function LapTable({ sessionId }: { sessionId: string }) {
  const { auth } = useServices();
  const canChoose = useCanChooseCues();
  const team = useApp(teamDrivers, shallowEqual);
  const name = useNames();
  const [cueMsg, setCueMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [laps, setLaps] = useState<Load<LapSummary[]>>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    setLaps({ state: 'loading' });
    listLaps(auth, sessionId)
      .then((v) => live && setLaps({ state: 'ok', value: v }))
      .catch((e) => live && setLaps({ state: 'error', why: errText(e) }));
    return () => {
      live = false;
    };
  }, [auth, sessionId]);
  if (laps.state === 'loading' || laps.state === 'idle') return <p className="empty">Loading laps…</p>;
  if (laps.state === 'error') return <p role="alert">Laps unavailable: {laps.why}</p>;
  const best = bestValidLap(laps.value);
  const sectors = Math.max(0, ...laps.value.map((l) => l.sectors.length));
  return (
    <>
    <table className="grid laps" data-testid="lap-table">
      <caption>Laps as the sim timed them</caption>
      <thead>
        <tr>
          <th scope="col">Lap</th>
          <th scope="col">Time</th>
          {Array.from({ length: sectors }, (_, i) => (
            <th scope="col" key={i}>
              S{i + 1}
            </th>
          ))}
          <th scope="col">Status</th>
          <th scope="col">Download</th>
          {canChoose ? <th scope="col">Cue reference</th> : null}
        </tr>
      </thead>
      <tbody>
        {laps.value.map((l) => (
          <tr key={l.id} className={`${l.valid ? '' : 'invalid'}${l.id === best ? ' best' : ''}`} data-testid={`lap-${l.lap}`}>
            <th scope="row">{l.lap}</th>
            <td data-testid="lap-time">{l.timeS === null ? '—' : lapTime(l.timeS)}</td>
            {Array.from({ length: sectors }, (_, i) => (
              <td key={i}>{l.sectors[i] !== undefined ? l.sectors[i].toFixed(3) : '—'}</td>
            ))}
            <td>
              {l.id === best ? <strong>best</strong> : null}
              {l.valid ? (l.id === best ? '' : 'valid') : `invalid: ${l.reasons.join(', ') || 'incomplete'}`}
              {l.outLap ? ' · out lap' : ''}
              {l.inLap ? ' · in lap' : ''}
            </td>
            <td>
              <Download path={ENDPOINTS.lapDownload(l.id, 'ibt')} name={`lap-${l.lap}.ibt`} label=".ibt" />{' '}
              <Download path={ENDPOINTS.lapDownload(l.id, 'csv')} name={`lap-${l.lap}.csv`} label="CSV" />
            </td>
            {canChoose ? (
              // Every complete lap: the cloud judges the lap (and says why it refuses one).
              <td>{l.complete && l.timeS !== null ? <CuePick lap={l} team={team} name={name} onResult={setCueMsg} /> : null}</td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
    {cueMsg ? (
      <p role={cueMsg.ok ? 'status' : 'alert'} className={cueMsg.ok ? 'ok' : 'bad'} data-testid="cue-result">
        {cueMsg.text}
      </p>
    ) : null}
    </>
  );
}

function StandingsTable({ s }: { s: ApiStoredStandings }) {
  type Entry = { carIdx: number; carNumber: string; driverName: string; position: number; lap: number; bestLapTime?: number | null; lastLapTime?: number | null; pitStops: number; isTeamCar?: boolean };
  const entries = (s.entries as unknown as Entry[]).slice().sort((a, b) => (a.position || 999) - (b.position || 999));
  const label = s.reason === 'latest' ? 'newest' : s.reason === 'stint' ? 'at the driver change' : 'at the session end';
  return (
    <table className="grid" data-testid={`standings-${s.simSessionId}-${s.reason}`}>
      <caption>
        {s.sessionType ?? s.simSessionId} standings, {label} ({when(s.takenAt)}, reported by {s.reportedBy})
      </caption>
      <thead>
        <tr>
          <th scope="col">Pos</th>
          <th scope="col">#</th>
          <th scope="col">Driver</th>
          <th scope="col">Laps</th>
          <th scope="col">Best</th>
          <th scope="col">Last</th>
          <th scope="col">Pits</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.carIdx} className={e.isTeamCar ? 'team' : undefined}>
            <td>{e.position || '—'}</td>
            <td>{e.carNumber}</td>
            <td>{e.driverName}</td>
            <td>{e.lap}</td>
            <td>{lapTime(e.bestLapTime)}</td>
            <td>{lapTime(e.lastLapTime)}</td>
            <td>{e.pitStops}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EventDetail({ id }: { id: string }) {
  const { auth } = useServices();
  const [ev, setEv] = useState<Load<ApiEventDetail>>({ state: 'loading' });
  const [sessionId, setSessionId] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setEv({ state: 'loading' });
    getEvent(auth, id)
      .then((v) => {
        if (!live) return;
        setEv({ state: 'ok', value: v });
        setSessionId((cur) => cur ?? v.sessions[v.sessions.length - 1]?.id ?? null);
      })
      .catch((e) => live && setEv({ state: 'error', why: errText(e) }));
    return () => {
      live = false;
    };
  }, [auth, id]);
  if (ev.state === 'loading' || ev.state === 'idle') return <p className="empty">Loading the event…</p>;
  if (ev.state === 'error') return <p role="alert">The event is unavailable: {ev.why}</p>;
  const e = ev.value;
  return (
    <section aria-label={`Event ${e.id}`} className="event">
      <h3>
        {e.track ?? 'Unknown track'} · {e.car ?? 'unknown car'}
      </h3>
      <table className="grid" data-testid="event-sessions">
        <caption>Sessions</caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Driver</th>
            <th scope="col">Started</th>
            <th scope="col">Laps</th>
            <th scope="col">Source</th>
            <th scope="col">Download</th>
          </tr>
        </thead>
        <tbody>
          {e.sessions.map((s) => (
            <tr key={s.id} aria-selected={s.id === sessionId}>
              <th scope="row">
                <button type="button" className="link" onClick={() => setSessionId(s.id)}>
                  {s.sessionType ?? 'session'}
                </button>
              </th>
              <td>{s.driverId}</td>
              <td>{when(s.startedAt)}</td>
              <td>{s.lapCount}</td>
              <td>{s.source}</td>
              <td>
                <Download path={ENDPOINTS.sessionDownload(s.id, 'ibt')} name={`session-${s.id}.ibt`} label=".ibt" />{' '}
                <Download path={ENDPOINTS.sessionDownload(s.id, 'csv')} name={`session-${s.id}.csv`} label="CSV" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessionId ? <LapTable key={sessionId} sessionId={sessionId} /> : null}
      {e.stints.length > 0 ? (
        <table className="grid" data-testid="event-stints">
          <caption>Stints</caption>
          <thead>
            <tr>
              <th scope="col">Driver</th>
              <th scope="col">Session</th>
              <th scope="col">Laps</th>
              <th scope="col">Best valid</th>
              <th scope="col">Ended</th>
            </tr>
          </thead>
          <tbody>
            {e.stints.map((s) => (
              <tr key={`${s.sessionId}-${s.firstLap}`}>
                <td>{s.driverId}</td>
                <td>{s.sessionType ?? '—'}</td>
                <td>
                  {s.firstLap}–{s.lastLap} ({s.laps})
                </td>
                <td>{lapTime(s.bestLapTime)}</td>
                <td>{s.endedInPits ? 'in the pits' : 'still out when last stored'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {e.standings
        .filter((s) => s.reason !== 'end' || !e.standings.some((o) => o.simSessionId === s.simSessionId && o.reason === 'latest'))
        .map((s) => (
          <StandingsTable key={`${s.simSessionId}-${s.reason}-${s.takenAt}`} s={s} />
        ))}
    </section>
  );
}

export function History() {
  const { auth, config } = useServices();
  const canChoose = useCanChooseCues();
  const team = useApp(teamDrivers, shallowEqual);
  const name = useNames();
  const [events, setEvents] = useState<Load<ApiEvent[]>>({ state: 'idle' });
  const [selected, setSelected] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    if (!config.restApi) return;
    let live = true;
    setEvents({ state: 'loading' });
    listEvents(auth)
      .then((v) => {
        if (!live) return;
        setEvents({ state: 'ok', value: v });
        setSelected((cur) => cur ?? v[0]?.id ?? null);
      })
      .catch((e) => live && setEvents({ state: 'error', why: errText(e) }));
    return () => {
      live = false;
    };
  }, [auth, config.restApi, reload]);
  const imported = useCallback(() => {
    setSelected(null);
    setReload((n) => n + 1);
  }, []);
  if (!config.restApi) {
    return (
      <div className="view history">
        <p className="empty" role="status">
          History is kept by the cloud; this server (a relay) has none.
        </p>
      </div>
    );
  }
  return (
    <div className="view history">
      <Upload onDone={imported} />
      {canChoose && team.length > 0 ? <CueReferences team={team} name={name} /> : null}
      {events.state === 'error' ? <p role="alert">Events unavailable: {events.why}</p> : null}
      {events.state === 'ok' && events.value.length === 0 ? (
        <p className="empty" role="status">
          No events yet: stream a session or upload an .ibt file.
        </p>
      ) : null}
      {events.state === 'ok' && events.value.length > 0 ? (
        <div className="row history-split">
          <nav aria-label="Events" className="events">
            <ul>
              {events.value.map((e) => (
                <li key={e.id}>
                  <button type="button" className={`link${e.id === selected ? ' active' : ''}`} aria-current={e.id === selected ? 'true' : undefined} onClick={() => setSelected(e.id)}>
                    {e.track ?? e.id}
                  </button>
                  <div className="muted">
                    {when(e.startedAt)} · {e.sessionTypes.join(' → ') || 'session'} · {e.driverIds.length} driver{e.driverIds.length === 1 ? '' : 's'}
                  </div>
                </li>
              ))}
            </ul>
          </nav>
          {selected ? <EventDetail key={selected} id={selected} /> : null}
        </div>
      ) : null}
    </div>
  );
}
