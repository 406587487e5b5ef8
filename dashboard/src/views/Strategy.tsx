// Strategy (issue 25): the team's stint plan — its inputs (engineers and admins edit and plan,
// drivers and viewers read), the stints as a timeline and a table, the live re-plan from
// `strategy_update`, and what-ifs planned as dry runs against the live plan (docs/strategy.md).
import { memo, useCallback, useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api/auth';
import { getPlan, postPlan, type Plan, type PlanRequest, type StoredPlan } from '../api/strategy';
import { useApp, useServices } from '../app/context';
import { clock, duration, lapTime, num } from '../app/format';
import { useNow } from '../app/hooks';
import { Freshness } from '../components/Freshness';
import { PitStop } from './PitStop';
import type { PlanStint, StrategyUpdate } from '../protocol/types';
import { driverName, latestStrategy, teamDrivers } from '../store/app';
import { shallowEqual } from '../store/store';
import { defaultForm, formFromRequest, NUMBER_FIELDS, requestFromForm, type FieldError, type PlanForm } from '../strategy/form';
import { difference, requestFromBasis, startFuel, whatIfLabel, whatIfRequest, type WhatIf } from '../strategy/whatif';

/** A live plan older than this is marked stale (updates come once a lap). */
export const STRATEGY_STALE_MS = 3 * 60_000;

/** Driver colours: dark text on each reads at AA contrast. */
const COLOURS = ['#64b5f6', '#ffca28', '#81c784', '#f48fb1', '#ce93d8', '#ffab91', '#80deea', '#e6ee9c'];

type Load = { state: 'loading' } | { state: 'none' } | { state: 'ok' } | { state: 'error'; why: string };

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const toFieldError = (e: unknown): FieldError => (e instanceof ApiError ? { field: e.detail.field ?? '', message: e.message, code: e.detail.code } : { field: '', message: errText(e) });

function useNames(): (id: string) => string {
  const svc = useServices();
  // Re-rendered when names change: the map of id → name is what the labels read.
  const names = useApp((s) => Object.fromEntries(Object.values(s.drivers).map((d) => [d.id, d.name])), shallowEqual);
  return useCallback((id: string) => names[id] ?? driverName(svc.store.getState(), id), [names, svc]);
}

/** A driver's colour: by their place in the plan's rotation, the same on every timeline. */
function colourOf(order: string[], id: string): string {
  const i = order.indexOf(id);
  return COLOURS[(i >= 0 ? i : order.length) % COLOURS.length]!;
}

export const Timeline = memo(function Timeline({
  label,
  stints,
  order,
  name,
  doneLaps = 0,
  testId,
}: {
  label: string;
  stints: PlanStint[];
  order: string[];
  name: (id: string) => string;
  /** Laps already run before the first stint (the live plan's completed laps), drawn grey. */
  doneLaps?: number;
  testId: string;
}) {
  const last = stints.length ? stints[stints.length - 1]!.endLap : doneLaps;
  const total = Math.max(1, last);
  return (
    <figure className="timeline" data-testid={testId}>
      <figcaption>
        {label} <span className="muted">(laps 1–{last})</span>
      </figcaption>
      <ol className="timeline-bar" aria-label={label}>
        {doneLaps > 0 && (
          <li className="seg done" style={{ flexGrow: doneLaps / total }} aria-label={`laps 1–${doneLaps} done`} title={`laps 1–${doneLaps} done`}>
            <span>done</span>
          </li>
        )}
        {stints.map((s, i) => {
          const text = `${name(s.driverId)} · ${s.laps} lap${s.laps === 1 ? '' : 's'}`;
          return (
            <li
              key={i}
              className="seg"
              data-testid="stint-seg"
              data-driver={s.driverId}
              style={{ flexGrow: s.laps / total, background: colourOf(order, s.driverId) }}
              aria-label={`Stint ${i + 1}: ${name(s.driverId)}, laps ${s.startLap}–${s.endLap}`}
              title={`Stint ${i + 1}: ${name(s.driverId)}, laps ${s.startLap}–${s.endLap} (${s.laps})`}
            >
              <span>{text}</span>
            </li>
          );
        })}
      </ol>
    </figure>
  );
});

function StintTable({ stints, name, caption }: { stints: PlanStint[]; name: (id: string) => string; caption: string }) {
  return (
    <table className="grid stints">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Driver</th>
          <th scope="col">Laps</th>
          <th scope="col">Start fuel</th>
          <th scope="col">Fuel added</th>
          <th scope="col">New tyres</th>
          <th scope="col">Stop time</th>
        </tr>
      </thead>
      <tbody>
        {stints.map((s, i) => (
          <tr key={i} data-testid="stint-row">
            <th scope="row">{i + 1}</th>
            <td>{name(s.driverId)}</td>
            <td>
              {s.startLap}–{s.endLap} <span className="muted">({s.laps})</span>
            </td>
            <td>{num(s.startFuelL, 1, ' L')}</td>
            <td>{i === 0 ? '—' : num(s.fuelAddedL, 1, ' L')}</td>
            <td>{i === 0 ? '—' : s.newTyres ? 'yes' : 'no'}</td>
            <td>{i === 0 ? '—' : num(s.pitStopS, 1, ' s')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Totals({ stops, totalS, finishFuelL, prefix }: { stops: number; totalS: number; finishFuelL: number; prefix: string }) {
  return (
    <dl className="kv totals">
      <div>
        <dt>Stops</dt>
        <dd data-testid={`${prefix}-stops`}>{stops}</dd>
      </div>
      <div>
        <dt>{prefix === 'live' ? 'Race time left' : 'Total race time'}</dt>
        <dd data-testid={`${prefix}-total`}>{duration(totalS * 1000)}</dd>
      </div>
      <div>
        <dt>Finish fuel</dt>
        <dd>{num(finishFuelL, 1, ' L')}</dd>
      </div>
    </dl>
  );
}

/** The error the API named for `field`, shown next to its input. */
function Err({ err, field }: { err: FieldError | null; field: string }) {
  if (!err || err.field !== field) return null;
  return (
    <span className="field-error" role="alert" id={`err-${field}`} data-testid="field-error" data-field={field}>
      {err.message}
    </span>
  );
}

function NumberInput({ field, label, value, onChange, err, required }: { field: string; label: string; value: string; onChange: (v: string) => void; err: FieldError | null; required?: boolean }) {
  const bad = err?.field === field;
  return (
    <div className={bad ? 'field bad-field' : 'field'}>
      <label>
        {label}
        <input
          inputMode="decimal"
          name={field}
          value={value}
          required={required}
          aria-invalid={bad || undefined}
          aria-describedby={bad ? `err-${field}` : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      </label>
      <Err err={err} field={field} />
    </div>
  );
}

/** Where an API error's field is shown: its own input, or the form's top when none matches. */
function placeError(err: FieldError | null, form: PlanForm): FieldError | null {
  if (!err) return null;
  const f = err.field;
  if (f === 'race' || f === 'race.laps' || f === 'race.minutes') return { ...err, field: 'race' };
  if ((NUMBER_FIELDS as ReadonlyArray<readonly [string, string, boolean]>).some(([k]) => k === f)) return err;
  const m = /^drivers\[(\d+)\]\.(id|maxStintMinutes|lapTimeS)$/.exec(f);
  if (m && Number(m[1]) < form.drivers.length) return err;
  if (f === 'drivers') return err;
  return { ...err, field: '' };
}

function PlanInputs({
  form,
  setForm,
  canEdit,
  err,
  busy,
  onSubmit,
  team,
  name,
}: {
  form: PlanForm;
  setForm: (f: (p: PlanForm) => PlanForm) => void;
  canEdit: boolean;
  err: FieldError | null;
  busy: boolean;
  onSubmit: () => void;
  team: string[];
  name: (id: string) => string;
}) {
  const set = (k: keyof PlanForm) => (v: string) => setForm((p) => ({ ...p, [k]: v }));
  const setDriver = (i: number, k: 'id' | 'maxStintMinutes' | 'lapTimeS', v: string) =>
    setForm((p) => ({ ...p, drivers: p.drivers.map((d, j) => (j === i ? { ...d, [k]: v } : d)) }));
  const move = (i: number) =>
    setForm((p) => {
      const d = p.drivers.slice();
      [d[i - 1], d[i]] = [d[i]!, d[i - 1]!];
      return { ...p, drivers: d };
    });
  const remove = (i: number) => setForm((p) => ({ ...p, drivers: p.drivers.filter((_, j) => j !== i) }));
  const add = () =>
    setForm((p) => ({ ...p, drivers: [...p.drivers, { id: team.find((t) => !p.drivers.some((d) => d.id === t)) ?? '', maxStintMinutes: '', lapTimeS: '' }] }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit();
  };
  const raceBad = err?.field === 'race';
  return (
    <form className="plan-form" onSubmit={submit} aria-label="Plan inputs" noValidate>
      <fieldset disabled={!canEdit || busy}>
        <legend>Race and car</legend>
        {err && err.field === '' && (
          <p className="field-error" role="alert" data-testid="field-error" data-field="">
            {err.message}
          </p>
        )}
        <div className="form-grid">
          <label className="field">
            Race length in
            <select aria-label="Race length in" value={form.raceKind} onChange={(e) => set('raceKind')(e.target.value)}>
              <option value="minutes">minutes</option>
              <option value="laps">laps</option>
            </select>
          </label>
          <div className={raceBad ? 'field bad-field' : 'field'}>
            <label>
              Race ({form.raceKind})
              <input inputMode="decimal" name="race" value={form.race} aria-invalid={raceBad || undefined} aria-describedby={raceBad ? 'err-race' : undefined} onChange={(e) => set('race')(e.target.value)} />
            </label>
            <Err err={err} field="race" />
          </div>
          {NUMBER_FIELDS.map(([k, label, required]) => (
            <NumberInput key={k} field={k} label={label} value={form[k]} onChange={set(k)} err={err} required={required} />
          ))}
        </div>
      </fieldset>
      <fieldset disabled={!canEdit || busy}>
        <legend>Drivers in rotation order</legend>
        <Err err={err} field="drivers" />
        {form.drivers.length === 0 && <p className="muted">No drivers yet{canEdit ? ': add the drivers in the order they take the car.' : '.'}</p>}
        <ol className="driver-rows">
          {form.drivers.map((d, i) => {
            const idField = `drivers[${i}].id`;
            const idBad = err?.field === idField;
            const choices = team.includes(d.id) || !d.id ? team : [d.id, ...team];
            return (
              <li key={i} className="driver-row" data-testid="driver-row">
                <div className={idBad ? 'field bad-field' : 'field'}>
                  <label>
                    Driver {i + 1}
                    {team.length > 0 ? (
                      <select aria-label={`Driver ${i + 1}`} value={d.id} aria-invalid={idBad || undefined} aria-describedby={idBad ? `err-${idField}` : undefined} onChange={(e) => setDriver(i, 'id', e.target.value)}>
                        {!d.id && <option value="">choose…</option>}
                        {choices.map((id) => (
                          <option key={id} value={id}>
                            {name(id)}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <input aria-label={`Driver ${i + 1}`} value={d.id} aria-invalid={idBad || undefined} aria-describedby={idBad ? `err-${idField}` : undefined} onChange={(e) => setDriver(i, 'id', e.target.value)} />
                    )}
                  </label>
                  <Err err={err} field={idField} />
                </div>
                <NumberInput field={`drivers[${i}].maxStintMinutes`} label={`Driver ${i + 1} longest stint (min)`} value={d.maxStintMinutes} onChange={(v) => setDriver(i, 'maxStintMinutes', v)} err={err} />
                <NumberInput field={`drivers[${i}].lapTimeS`} label={`Driver ${i + 1} lap time (s)`} value={d.lapTimeS} onChange={(v) => setDriver(i, 'lapTimeS', v)} err={err} />
                {canEdit && (
                  <div className="actions">
                    <button type="button" className="small" disabled={i === 0} onClick={() => move(i)} aria-label={`Move driver ${i + 1} up`}>
                      ↑
                    </button>
                    <button type="button" className="small" onClick={() => remove(i)} aria-label={`Remove driver ${i + 1}`}>
                      Remove
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ol>
        {canEdit && (
          <button type="button" className="small" onClick={add}>
            Add driver
          </button>
        )}
      </fieldset>
      {canEdit ? (
        <button type="submit" disabled={busy}>
          {busy ? 'Planning…' : 'Make plan'}
        </button>
      ) : (
        <p className="muted" role="note">
          Read-only: the plan is the pit wall's — engineers and admins make it.
        </p>
      )}
    </form>
  );
}

function Source({ s }: { s: string }) {
  return <span className={s === 'measured' || s === 'sim' ? 'pill src measured' : 'pill src'}>{s}</span>;
}

function LiveNumbers({ u, at, now, order, name }: { u: StrategyUpdate; at: number; now: number; order: string[]; name: (id: string) => string }) {
  const stale = now - at > STRATEGY_STALE_MS;
  return (
    <div className={stale ? 'card live stale' : 'card live'}>
      <p className="msg-head">
        <span>
          After lap {u.lap} · {name(u.driverId)} driving · {clock(u.timestamp)}
        </span>
        <Freshness latestAt={at} now={now} name="the live plan" afterMs={STRATEGY_STALE_MS} />
      </p>
      <dl className="kv big">
        <div>
          <dt>Fuel left</dt>
          <dd data-testid="live-fuel-laps">
            {num(u.fuelLapsLeft, 1)} laps <span className="muted small">({num(u.fuelL, 1, ' L')})</span>
          </dd>
        </div>
        <div>
          <dt>Pit window</dt>
          <dd data-testid="live-window">{u.pitWindow ? `laps ${u.pitWindow.opensLap}–${u.pitWindow.closesLap}` : 'no stop needed'}</dd>
        </div>
        <div>
          <dt>Fuel at next stop</dt>
          <dd data-testid="live-next-fuel">{u.nextStopFuelL != null ? num(u.nextStopFuelL, 1, ' L') : '—'}</dd>
        </div>
        {u.fuelSaveToSkipStopLpl != null && (
          <div>
            <dt>Save to skip a stop</dt>
            <dd data-testid="live-save">{num(u.fuelSaveToSkipStopLpl, 2, ' L/lap')}</dd>
          </div>
        )}
        <div>
          <dt>Laps remaining</dt>
          <dd data-testid="live-laps-remaining">
            {u.lapsRemaining} <Source s={u.lapsRemainingSource === 'sim' ? 'sim' : 'plan'} />
          </dd>
        </div>
        <div>
          <dt>Stops remaining</dt>
          <dd data-testid="live-stops">{u.stopsRemaining}</dd>
        </div>
      </dl>
      <dl className="kv">
        <div>
          <dt>Fuel per lap</dt>
          <dd data-testid="live-fuel-per-lap">
            {num(u.fuelPerLapL, 2, ' L')} <Source s={u.fuelPerLapSource} />
          </dd>
        </div>
        <div>
          <dt>Lap time</dt>
          <dd data-testid="live-lap-time">
            {lapTime(u.lapTimeS)} <Source s={u.lapTimeSource} />
          </dd>
        </div>
        <div>
          <dt>Pit lane loss</dt>
          <dd data-testid="live-pit-lane">
            {num(u.pitLaneS, 1, ' s')} <Source s={u.pitLaneSource} />
          </dd>
        </div>
      </dl>
      <p className="muted small">
        Laps remaining come from {u.lapsRemainingSource === 'sim' ? "the sim's session (laps or time left)" : 'the stored plan (the sim gives none)'}; “measured” is the car's own recent green laps, “plan” the stored plan's input.
      </p>
      <Timeline label="Live plan" stints={u.stints} order={order} name={name} doneLaps={u.lap} testId="timeline-live" />
      <Totals stops={u.stopsRemaining} totalS={u.totalRaceTimeS} finishFuelL={u.finishFuelL} prefix="live" />
    </div>
  );
}

type WhatIfResult = { label: string; plan: Plan; stops: number; totalS: number; extraS: number; vs: string; base: 'live' | 'stored' };

function WhatIfs({
  base,
  fuelNowL,
  live,
  liveStints,
  order,
  name,
}: {
  base: { request: PlanRequest; from: 'live' | 'stored' };
  fuelNowL: number;
  live: { stops: number; totalS: number };
  liveStints: PlanStint[];
  order: string[];
  name: (id: string) => string;
}) {
  const { auth } = useServices();
  const [driver, setDriver] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<WhatIfResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const drivers = base.request.drivers.map((d) => d.id);
  const chosen = drivers.includes(driver) ? driver : (drivers[0] ?? '');
  const run = async (w: WhatIf) => {
    setBusy(true);
    setError(null);
    const { request, extraStops, extraS } = whatIfRequest(w, base.request, fuelNowL);
    try {
      const plan = await postPlan(auth, request, true);
      const stops = plan.stops + extraStops;
      const totalS = plan.totalRaceTimeS + extraS;
      setResult({ label: whatIfLabel(w, name), plan, stops, totalS, extraS, vs: difference({ stops, totalS }, live), base: base.from });
    } catch (e) {
      setResult(null);
      setError(`${whatIfLabel(w, name)}: ${errText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  // The what-if's stints on the live plan's laps: the dry run counts from lap 1 of what is left.
  const offset = liveStints.length ? liveStints[0]!.startLap - 1 : 0;
  const shifted = result ? result.plan.stints.map((s) => ({ ...s, startLap: s.startLap + offset, endLap: s.endLap + offset })) : [];
  return (
    <section className="card whatifs" aria-labelledby="whatif-h">
      <h3 id="whatif-h">What-ifs</h3>
      <p className="muted small">
        Planned from {base.from === 'live' ? "the live plan's inputs" : "the stored plan's inputs (no live plan yet)"} without replacing the stored plan.
      </p>
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void run({ kind: 'stopNow' })}>
          Stop now
        </button>
        <button type="button" disabled={busy} onClick={() => void run({ kind: 'caution' })}>
          Caution for 3 laps
        </button>
        <label className="inline">
          Double stint for
          <select aria-label="Double stint for" value={chosen} onChange={(e) => setDriver(e.target.value)}>
            {drivers.map((id) => (
              <option key={id} value={id}>
                {name(id)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={busy || !chosen} onClick={() => void run({ kind: 'doubleStint', driverId: chosen })}>
          Double stint
        </button>
      </div>
      {busy && <p role="status">Planning the what-if…</p>}
      {error && (
        <p role="alert" className="bad" data-testid="whatif-error">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="whatif-result">
          <Timeline label={`What-if: ${result.label}`} stints={shifted} order={order} name={name} doneLaps={offset} testId="timeline-whatif" />
          <p>
            <strong>{result.label}</strong>: {result.stops} stop{result.stops === 1 ? '' : 's'}, {duration(result.totalS * 1000)}
            {result.extraS > 0 && <span className="muted"> (with the stop now, {num(result.extraS, 1, ' s')})</span>} —{' '}
            <strong data-testid="whatif-diff">{result.vs}</strong> against the {result.base === 'live' ? 'live' : 'stored'} plan
          </p>
        </div>
      )}
    </section>
  );
}

function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section className="strategy-section" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      {children}
    </section>
  );
}

export function Strategy() {
  const svc = useServices();
  const me = useApp((s) => s.me);
  const role = me?.role ?? svc.auth.session?.user.role ?? 'viewer';
  const canEdit = role === 'engineer' || role === 'admin';
  const team = useApp(teamDrivers, shallowEqual);
  const latest = useApp(latestStrategy);
  const name = useNames();
  const now = useNow(5000);

  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [stored, setStored] = useState<{ plan: Plan; request: PlanRequest; plannedAt?: string; plannedBy?: string } | null>(null);
  const [form, setForm] = useState<PlanForm>(() => defaultForm());
  const [touched, setTouched] = useState(false);
  const [err, setErr] = useState<FieldError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  const rest = svc.config.restApi;
  useEffect(() => {
    if (!rest) return;
    let gone = false;
    getPlan(svc.auth)
      .then((p: StoredPlan | null) => {
        if (gone) return;
        if (p) {
          setStored({ plan: p, request: p.request, plannedAt: p.plannedAt, plannedBy: p.plannedBy });
          setForm(formFromRequest(p.request));
          setLoad({ state: 'ok' });
        } else setLoad({ state: 'none' });
      })
      .catch((e: unknown) => !gone && setLoad({ state: 'error', why: errText(e) }));
    return () => {
      gone = true;
    };
  }, [svc, rest]);

  // No plan yet: the form's drivers default to the team's, once their profiles are known.
  useEffect(() => {
    if (load.state === 'none' && !touched && form.drivers.length === 0 && team.length > 0) setForm((f) => ({ ...f, drivers: team.map((id) => ({ id, maxStintMinutes: '', lapTimeS: '' })) }));
  }, [load.state, touched, form.drivers.length, team]);

  const edit = useCallback((f: (p: PlanForm) => PlanForm) => {
    setTouched(true);
    setSaved(null);
    setForm(f);
  }, []);

  const makePlan = async () => {
    setErr(null);
    setSaved(null);
    const r = requestFromForm(form);
    if (!r.ok) {
      setErr(r.error);
      return;
    }
    setBusy(true);
    try {
      const plan = await postPlan(svc.auth, r.request);
      setStored({ plan, request: r.request, plannedAt: new Date().toISOString(), plannedBy: me?.id });
      setLoad({ state: 'ok' });
      setSaved(`Planned: ${plan.stints.length} stints, ${plan.stops} stop${plan.stops === 1 ? '' : 's'} — stored as the team's plan.`);
    } catch (e) {
      setErr(toFieldError(e));
    } finally {
      setBusy(false);
    }
  };

  // Rotation order for colours: the stored plan's drivers, then the live plan's, then anyone else.
  const order = useMemo(() => {
    const ids: string[] = [];
    const push = (id: string) => !ids.includes(id) && ids.push(id);
    stored?.request.drivers.forEach((d) => push(d.id));
    latest?.update.stints.forEach((s) => push(s.driverId));
    form.drivers.forEach((d) => d.id && push(d.id));
    return ids;
  }, [stored, latest, form.drivers]);

  const liveBasis = latest ? requestFromBasis(latest.update.basis) : null;
  const whatIfBase = liveBasis ? { request: liveBasis, from: 'live' as const } : stored ? { request: stored.request, from: 'stored' as const } : null;
  const fuelNow = latest && liveBasis ? latest.update.fuelL : whatIfBase ? startFuel(whatIfBase.request) : 0;
  const liveTotals = latest && liveBasis ? { stops: latest.update.stopsRemaining, totalS: latest.update.totalRaceTimeS } : stored ? { stops: stored.plan.stops, totalS: stored.plan.totalRaceTimeS } : null;

  return (
    <div className="view strategy">
      <div className="row">
        <h2>Strategy</h2>
        {stored?.plannedAt && (
          <span className="muted small" data-testid="planned-by">
            plan by {stored.plannedBy ? name(stored.plannedBy) : '—'} at {clock(stored.plannedAt)}
          </span>
        )}
      </div>
      {!rest && (
        <p className="empty" role="status">
          Not available on a relay: the stint plan is stored on the cloud. Live numbers still show below.
        </p>
      )}
      {rest && load.state === 'loading' && <p role="status">Loading the team's plan…</p>}
      {load.state === 'none' && (
        <p className="empty" role="status" data-testid="no-plan">
          No plan yet for this team.{canEdit ? ' Fill in the race below and make one.' : ' The engineer makes it.'}
        </p>
      )}
      {load.state === 'error' && <p role="alert">The stored plan is unavailable: {load.why}</p>}

      <div className="strategy-layout">
        {rest && (
          <Section title="Plan inputs" id="plan-inputs-h">
            <PlanInputs form={form} setForm={edit} canEdit={canEdit} err={placeError(err, form)} busy={busy} onSubmit={() => void makePlan()} team={team} name={name} />
            {saved && (
              <p role="status" className="ok">
                {saved}
              </p>
            )}
          </Section>
        )}

        <div className="strategy-main">
          <Section title="Stored plan" id="stored-plan-h">
            {stored ? (
              <>
                <Timeline label="Stints by driver" stints={stored.plan.stints} order={order} name={name} testId="timeline-plan" />
                <Totals stops={stored.plan.stops} totalS={stored.plan.totalRaceTimeS} finishFuelL={stored.plan.finishFuelL} prefix="plan" />
                <StintTable stints={stored.plan.stints} name={name} caption={`${stored.plan.raceLaps} laps, ${stored.plan.stints.length} stints`} />
              </>
            ) : (
              <p className="muted">No stints to show yet.</p>
            )}
          </Section>

          <Section title="Live" id="live-h">
            {latest ? (
              <LiveNumbers u={latest.update} at={latest.at} now={now} order={order} name={name} />
            ) : (
              <p className="empty" role="status" data-testid="no-live">
                No live plan yet — it starts after the first lap of a car with a stored plan.
              </p>
            )}
          </Section>

          <Section title="Next pit stop" id="pit-stop-h">
            <PitStop canEdit={canEdit} team={team} name={name} />
          </Section>

          {canEdit && rest && whatIfBase && liveTotals && (
            <WhatIfs base={whatIfBase} fuelNowL={fuelNow} live={liveTotals} liveStints={latest && liveBasis ? latest.update.stints : []} order={order} name={name} />
          )}
        </div>
      </div>
    </div>
  );
}
