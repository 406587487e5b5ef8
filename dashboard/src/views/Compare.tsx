import { useCallback, useEffect, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { ApiError } from '../api/auth';
import { ENDPOINTS } from '../api/endpoints';
import { compareLaps, lapTelemetryText, listLaps, listSessions, type ApiLapComparison, type LapSummary, type SessionSummary } from '../api/laps';
import type { Comparison } from '../analysis/compare';
import { runCompare } from '../analysis/run';
import { useApp, useServices } from '../app/context';
import { lapTime } from '../app/format';
import { Chart } from '../components/Chart';

type Load<T> = { state: 'idle' } | { state: 'loading' } | { state: 'ok'; value: T } | { state: 'unavailable'; why: string } | { state: 'error'; why: string };

function why(e: unknown, missing = 'this server has no lap storage API yet'): Load<never> {
  if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)) return { state: 'unavailable', why: missing };
  return { state: 'error', why: e instanceof Error ? e.message : String(e) };
}

interface CornerRow {
  id: string;
  deltaS: number;
  entryDeltaS?: number;
  exitDeltaS?: number;
  lap?: { minSpeedKmh?: number; brakePointM?: number | null };
  reference?: { minSpeedKmh?: number; brakePointM?: number | null };
  evidence?: Array<{ kind: string }>;
}

export interface EngineCorners {
  rows: CornerRow[];
  focusLap: number;
  referenceLap: number | null;
  referenceName: string | null;
}

/** The per-corner rows of `GET /api/laps/{id}/compare` (crates/coach `compare_laps`). */
export function cornersFrom(c: ApiLapComparison): EngineCorners {
  const ref = c.reference as { lap?: number; name?: string } | null;
  return { rows: c.corners as unknown as CornerRow[], focusLap: c.focusLap, referenceLap: ref?.lap ?? null, referenceName: ref?.name ?? null };
}

/** The last complete lap against the best valid one (never an out, in or pit lap). */
function defaults(v: LapSummary[]): { lap: string; ref: string } {
  const complete = v.filter((l) => l.complete && l.timeS !== null);
  const fastest = (ls: LapSummary[]) => ls.reduce<LapSummary | null>((b, l) => (!b || (l.timeS ?? Infinity) < (b.timeS ?? Infinity) ? l : b), null);
  const best = fastest(complete.filter((l) => l.valid)) ?? fastest(complete.filter((l) => !l.inLap && !l.outLap));
  const others = complete.filter((l) => l.id !== best?.id);
  return { lap: others[others.length - 1]?.id ?? '', ref: best?.id ?? '' };
}

export function Compare() {
  const { auth, config } = useServices();
  const session = useApp((s) => s.session);
  const [sessions, setSessions] = useState<Load<SessionSummary[]>>({ state: 'idle' });
  const [sessionId, setSessionId] = useState('');
  const [laps, setLaps] = useState<Load<LapSummary[]>>({ state: 'idle' });
  const [lapId, setLapId] = useState('');
  const [refId, setRefId] = useState('');
  // The reference may come from any session on the same track (another driver, an import).
  const [refSessionId, setRefSessionId] = useState('');
  const [otherRefLaps, setOtherRefLaps] = useState<Load<LapSummary[]>>({ state: 'idle' });
  const [cmp, setCmp] = useState<Load<Comparison>>({ state: 'idle' });
  const [corners, setCorners] = useState<Load<EngineCorners>>({ state: 'idle' });

  useEffect(() => {
    if (!config.restApi) return;
    let live = true;
    setSessions({ state: 'loading' });
    listSessions(auth)
      .then((v) => live && setSessions({ state: 'ok', value: v }))
      .catch((e) => live && setSessions(why(e)));
    return () => {
      live = false;
    };
  }, [auth, config.restApi]);

  useEffect(() => {
    if (!sessionId) return;
    let live = true;
    setLaps({ state: 'loading' });
    listLaps(auth, sessionId)
      .then((v) => {
        if (!live) return;
        setLaps({ state: 'ok', value: v });
        const d = defaults(v);
        setRefSessionId(sessionId);
        setRefId(d.ref);
        setLapId(d.lap);
      })
      .catch((e) => live && setLaps(why(e)));
    return () => {
      live = false;
    };
  }, [auth, sessionId]);

  useEffect(() => {
    if (!refSessionId || refSessionId === sessionId) return;
    let live = true;
    setOtherRefLaps({ state: 'loading' });
    listLaps(auth, refSessionId)
      .then((v) => {
        if (!live) return;
        setOtherRefLaps({ state: 'ok', value: v });
        setRefId(defaults(v).ref);
      })
      .catch((e) => live && setOtherRefLaps(why(e)));
    return () => {
      live = false;
    };
    // sessionId is read to tell the two cases apart; a new session resets refSessionId itself
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [auth, refSessionId]);

  useEffect(() => {
    if (!lapId || !refId) return;
    let live = true;
    setCmp({ state: 'loading' });
    setCorners({ state: 'loading' });
    const lengthM = session ? session.track.lengthKm * 1000 : null;
    Promise.all([lapTelemetryText(auth, lapId), lapTelemetryText(auth, refId)])
      .then(async ([a, b]) => {
        const c = await runCompare(a, b, lengthM);
        if (live) setCmp({ state: 'ok', value: c });
        try {
          const res = await compareLaps(auth, lapId, refId);
          if (live) setCorners({ state: 'ok', value: cornersFrom(res) });
        } catch (e) {
          if (live) setCorners(why(e, `this cloud cannot compare stored laps yet (GET ${ENDPOINTS.lapCompare(':id', ':reference')})`));
        }
      })
      .catch((e) => {
        if (!live) return;
        setCmp(why(e));
        setCorners({ state: 'idle' });
      });
    return () => {
      live = false;
    };
  }, [auth, lapId, refId, session]);

  const c = cmp.state === 'ok' ? cmp.value : null;
  const ver = useCallback(() => (c ? 1 : 0), [c]);
  const speedData = useCallback((): uPlot.AlignedData => (c ? [c.dist, c.lap.speed, c.ref.speed] : [[], [], []]) as unknown as uPlot.AlignedData, [c]);
  const pedalData = useCallback(
    (): uPlot.AlignedData => (c ? [c.dist, c.lap.throttle, c.ref.throttle, c.lap.brake, c.ref.brake] : [[], [], [], [], []]) as unknown as uPlot.AlignedData,
    [c],
  );
  const deltaData = useCallback((): uPlot.AlignedData => (c ? [c.dist, c.delta] : [[], []]) as unknown as uPlot.AlignedData, [c]);
  const lapList = useMemo(() => (laps.state === 'ok' ? laps.value : []), [laps]);
  const refLapList = useMemo(
    () => (refSessionId === sessionId ? lapList : otherRefLaps.state === 'ok' ? otherRefLaps.value : []),
    [refSessionId, sessionId, lapList, otherRefLaps],
  );
  const sessionList = useMemo(() => (sessions.state === 'ok' ? sessions.value : []), [sessions]);
  const chosen = sessionList.find((x) => x.id === sessionId);
  const track = chosen?.track ?? null;
  const car = chosen?.car ?? null;
  // Reference sessions: this one and every other with its track and car.
  const refSessions = useMemo(
    () => sessionList.filter((x) => x.id === sessionId || (track !== null && x.track === track && x.car === car)),
    [sessionList, sessionId, track, car],
  );
  // One time per lap everywhere: the sim's lapTime from the lap list, not the trace's last sample
  // (the trace's own end is shown as "delta trace at the line").
  const times = useMemo(() => {
    if (!c) return null;
    const of = (list: LapSummary[], id: string, fallback: number) => list.find((l) => l.id === id)?.timeS ?? fallback;
    return { lap: of(lapList, lapId, c.lapTime), ref: of(refLapList, refId, c.refTime) };
  }, [c, lapList, refLapList, lapId, refId]);

  if (!config.restApi) {
    return (
      <div className="view compare">
        <h2>Lap comparison</h2>
        <p className="empty" role="status">
          Not available on a relay: lap comparison reads stored laps from the cloud.
        </p>
      </div>
    );
  }
  return (
    <div className="view compare">
      <h2>Lap comparison</h2>
      {sessions.state === 'loading' && <p role="status">Loading sessions…</p>}
      {(sessions.state === 'unavailable' || sessions.state === 'error') && (
        <p className="empty" role="status" data-testid="compare-unavailable">
          Lap comparison unavailable: {sessions.why}.
        </p>
      )}
      {sessions.state === 'ok' && sessions.value.length === 0 && (
        <p className="empty" role="status">
          No stored sessions yet: laps are stored once a driver's telemetry reaches the cloud.
        </p>
      )}
      {sessions.state === 'ok' && sessions.value.length > 0 && (
        <div className="row">
          <label className="inline">
            Session
            <select value={sessionId} onChange={(e) => setSessionId(e.target.value)}>
              <option value="">choose</option>
              {sessions.value.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          {lapList.length > 0 && (
            <>
              <label className="inline">
                Lap
                <select value={lapId} onChange={(e) => setLapId(e.target.value)}>
                  <option value="">choose</option>
                  {lapList.map((l) => (
                    <option key={l.id} value={l.id}>
                      {l.lap} · {lapTime(l.timeS)}
                      {l.valid ? '' : ` (${l.reasons.join(', ') || 'invalid'})`}
                    </option>
                  ))}
                </select>
              </label>
              <label className="inline">
                Reference session
                <select
                  value={refSessionId}
                  onChange={(e) => {
                    // No comparison against a lap of the session being left while the new one loads.
                    setRefId(e.target.value === sessionId ? defaults(lapList).ref : '');
                    setCmp({ state: 'idle' });
                    setCorners({ state: 'idle' });
                    setRefSessionId(e.target.value);
                  }}
                >
                  {refSessions.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.id === sessionId ? 'this session' : x.label}
                    </option>
                  ))}
                </select>
              </label>
              <label className="inline">
                Reference
                <select value={refId} onChange={(e) => setRefId(e.target.value)}>
                  <option value="">choose</option>
                  {refLapList.map((l) => (
                    <option key={l.id} value={l.id}>
                      {l.lap} · {lapTime(l.timeS)}
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
        </div>
      )}
      {laps.state === 'loading' && <p role="status">Loading laps…</p>}
      {(laps.state === 'unavailable' || laps.state === 'error') && <p className="empty">Laps unavailable: {laps.why}.</p>}
      {(otherRefLaps.state === 'unavailable' || otherRefLaps.state === 'error') && refSessionId !== sessionId && <p className="empty">Reference laps unavailable: {otherRefLaps.why}.</p>}
      {cmp.state === 'loading' && <p role="status">Comparing…</p>}
      {(cmp.state === 'unavailable' || cmp.state === 'error') && <p className="empty">Comparison unavailable: {cmp.why}.</p>}
      {c && times && (
        <>
          <p data-testid="compare-summary">
            Lap {lapTime(times.lap)} against reference {lapTime(times.ref)}:{' '}
            <strong className={times.lap > times.ref ? 'bad' : 'ok'}>
              {times.lap - times.ref >= 0 ? '+' : ''}
              {(times.lap - times.ref).toFixed(3)} s
            </strong>
            <span className="muted" data-testid="delta-end" data-max-abs={c.delta.reduce((m, v) => Math.max(m, Math.abs(v)), 0).toFixed(3)}>
              {' '}
              (delta trace at the line: {c.delta.length ? `${c.delta[c.delta.length - 1]! >= 0 ? '+' : ''}${c.delta[c.delta.length - 1]!.toFixed(3)} s` : '—'})
            </span>
          </p>
          <div className="charts">
            <Chart key={`s-${lapId}-${refId}`} title="Speed vs distance (km/h)" xTime={false} xLabel="m" series={[{ label: 'lap', stroke: '#4fc3f7' }, { label: 'reference', stroke: '#9e9e9e' }]} getData={speedData} version={ver} />
            <Chart
              key={`p-${lapId}-${refId}`}
              title="Throttle and brake vs distance (%)"
              xTime={false}
              xLabel="m"
              series={[
                { label: 'throttle', stroke: '#66bb6a' },
                { label: 'ref throttle', stroke: '#2e7d32' },
                { label: 'brake', stroke: '#ef5350' },
                { label: 'ref brake', stroke: '#8e2424' },
              ]}
              getData={pedalData}
              version={ver}
              yRange={[0, 100]}
            />
            <Chart key={`d-${lapId}-${refId}`} title="Delta to reference (s, + = losing)" xTime={false} xLabel="m" series={[{ label: 'delta', stroke: '#ffca28' }]} getData={deltaData} version={ver} />
          </div>
          <h3>Per corner</h3>
          {corners.state === 'loading' && <p role="status">Asking the coaching engine…</p>}
          {(corners.state === 'unavailable' || corners.state === 'error') && <p className="empty">Per-corner table unavailable: {corners.why}.</p>}
          {corners.state === 'ok' && (
            <p className="muted small" data-testid="corners-source">
              From the coaching engine (as <code>pitbox coach analyze</code>): lap {corners.value.focusLap} against {corners.value.referenceName ?? `lap ${corners.value.referenceLap ?? '?'}`}.
            </p>
          )}
          {corners.state === 'ok' && (
            <table className="grid">
              <caption className="sr-only">Per-corner comparison</caption>
              <thead>
                <tr>
                  <th scope="col">Corner</th>
                  <th scope="col">Delta</th>
                  <th scope="col">Entry</th>
                  <th scope="col">Exit</th>
                  <th scope="col">Min speed lap / ref</th>
                  <th scope="col">Findings</th>
                </tr>
              </thead>
              <tbody>
                {corners.value.rows.map((r) => (
                  <tr key={r.id} data-testid="corner-row">
                    <th scope="row">{r.id}</th>
                    <td className={r.deltaS > 0 ? 'bad' : 'ok'}>{r.deltaS.toFixed(3)}</td>
                    <td>{r.entryDeltaS?.toFixed(3) ?? '—'}</td>
                    <td>{r.exitDeltaS?.toFixed(3) ?? '—'}</td>
                    <td>
                      {r.lap?.minSpeedKmh?.toFixed(0) ?? '—'} / {r.reference?.minSpeedKmh?.toFixed(0) ?? '—'}
                    </td>
                    <td>{(r.evidence ?? []).map((e) => e.kind).join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}
