// The next pit stop of one car (issue 25 §3): engineers and admins set it and send it as a
// `pit_command` to the car's driver agent, which applies it in iRacing; everyone sees the last
// command of that car and what iRacing's pit service holds (PitSvFuel / PitSvFlags), compared.
// Drivers and viewers see the panel read-only.
import { useState, type FormEvent } from 'react';
import { useApp, useServices } from '../app/context';
import { clock } from '../app/format';
import type { PitCommand } from '../protocol/types';
import { withPitCommand, type AppState } from '../store/app';
import { shallowEqual } from '../store/store';
import {
  ALL_FOUR,
  CORNER_LABEL,
  CORNERS,
  commandFromForm,
  describeService,
  differences,
  emptyPitForm,
  NO_TYRES,
  pitId,
  pitService,
  summarise,
  type PitFieldError,
  type PitForm,
  type Tri,
} from '../strategy/pit';

/** The car to set by default: whoever is in the car, else streaming, else the first driver. */
function defaultCar(s: AppState, choices: string[]): string {
  const ds = choices.map((id) => s.drivers[id]);
  return ds.find((d) => d?.inCar)?.id ?? ds.find((d) => d?.telemetryConnected && d.latest)?.id ?? choices[0] ?? '';
}

/** The live plan's fuel for the next stop of `driverId`, rounded up to whole litres. */
function plannedFuel(s: AppState, driverId: string): number | null {
  let best: AppState['strategy'][string] | null = null;
  for (const v of Object.values(s.strategy)) if (v.update.driverId === driverId && (!best || v.update.timestamp > best.update.timestamp)) best = v;
  const l = best?.update.nextStopFuelL;
  return typeof l === 'number' && Number.isFinite(l) ? Math.ceil(l) : null;
}

function TriSelect({ label, value, onChange }: { label: string; value: Tri; onChange: (v: Tri) => void }) {
  return (
    <label className="field">
      {label}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value as Tri)}>
        <option value="leave">leave as it is</option>
        <option value="yes">yes</option>
        <option value="no">no</option>
      </select>
    </label>
  );
}

type Sent = { command: PitCommand; result: 'sent' | 'queued'; at: number };

export function PitStop({ canEdit, team, name }: { canEdit: boolean; team: string[]; name: (id: string) => string }) {
  const known = useApp((s) => Object.keys(s.drivers), shallowEqual);
  const choices = team.length > 0 ? team : known;
  const fallback = useApp((s) => defaultCar(s, choices));
  const [picked, setPicked] = useState('');
  const car = picked && choices.includes(picked) ? picked : fallback;
  // One panel per car: its selectors read that car only, and a new car starts from a fresh form.
  return <PitPanel key={car} car={car} choices={choices} onPick={setPicked} canEdit={canEdit} name={name} />;
}

function PitPanel({ car, choices, onPick, canEdit, name }: { car: string; choices: string[]; onPick: (id: string) => void; canEdit: boolean; name: (id: string) => string }) {
  const svc = useServices();
  const stored = useApp((s) => s.me);
  const session = svc.auth.session?.user;
  const me = stored ?? (session ? { id: session.id, username: session.username } : null);
  const prefill = useApp((s) => plannedFuel(s, car));
  // Only the two pit-service fields: a 20 Hz stream does not re-render the panel.
  const sim = useApp((s) => {
    const t = s.drivers[car]?.latest;
    return { fuel: t?.pitServiceFuelL ?? null, flags: t?.pitServiceFlags ?? null, streaming: !!t };
  }, shallowEqual);
  const last = useApp((s) => s.pitCommands[car] ?? null);
  const errors = useApp((s) => s.errors);

  const [form, setForm] = useState<PitForm>(() => emptyPitForm());
  /** null: the fuel field shows the live plan's number until it is edited. */
  const [fuel, setFuel] = useState<string | null>(null);
  const [err, setErr] = useState<PitFieldError | null>(null);
  const [sent, setSent] = useState<Sent | null>(null);
  const refusal = sent ? errors.filter((e) => e.messageType === 'pit_command' && e.at >= sent.at).pop() : undefined;

  const fuelText = fuel ?? (prefill !== null ? String(prefill) : '');
  const set = <K extends keyof PitForm>(k: K, v: PitForm[K]) => {
    setErr(null);
    setForm((f) => ({ ...f, [k]: v }));
  };
  const setCorner = (k: (typeof CORNERS)[number], on: boolean) => set('tyres', { ...(form.tyres ?? NO_TYRES), [k]: on });

  const send = (f: PitForm) => {
    setErr(null);
    if (!me || !car) {
      setErr({ field: '', message: me ? 'No car to send to: the team has no drivers yet.' : 'Not signed in.' });
      return;
    }
    const r = commandFromForm(f, { driverId: car, sender: { id: me.id, name: me.username }, timestamp: new Date().toISOString(), id: pitId() });
    if (!r.ok) {
      setErr(r.error);
      return;
    }
    const at = Date.now();
    const result = svc.send({ type: 'pit_command', data: r.command });
    svc.store.setState((s) => withPitCommand(s, r.command, at));
    setSent({ command: r.command, result, at });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send({ ...form, fuel: fuelText });
  };
  const clear = () => send({ ...emptyPitForm(), clearAll: true });

  const service = pitService({ pitServiceFuelL: sim.fuel, pitServiceFlags: sim.flags });
  const diffs = service && last ? differences(last.command, service) : null;
  const fuelBad = err?.field === 'fuel';
  const pressureBad = err?.field === 'pressure';

  return (
    <div className="card pit-stop" data-testid="pit-stop">
      <form className="plan-form pit-form" onSubmit={submit} aria-label="Next pit stop" noValidate>
        <fieldset disabled={!canEdit}>
          <legend>What the car does at its next stop</legend>
          {err?.field === '' && (
            <p className="field-error" role="alert" data-testid="pit-form-error">
              {err.message}
            </p>
          )}
          <div className="form-grid">
            <label className="field">
              Car
              <select aria-label="Car" value={car} onChange={(e) => onPick(e.target.value)}>
                {choices.length === 0 && <option value="">no drivers yet</option>}
                {choices.map((id) => (
                  <option key={id} value={id}>
                    {name(id)}
                  </option>
                ))}
              </select>
            </label>
            <div className={fuelBad ? 'field bad-field' : 'field'}>
              <label>
                Fuel to add (L)
                <input
                  inputMode="decimal"
                  name="pit-fuel"
                  value={fuelText}
                  placeholder="leave as it is"
                  aria-invalid={fuelBad || undefined}
                  aria-describedby={fuelBad ? 'err-pit-fuel' : 'pit-fuel-hint'}
                  onChange={(e) => (setErr(null), setFuel(e.target.value))}
                />
              </label>
              {fuelBad ? (
                <span className="field-error" role="alert" id="err-pit-fuel">
                  {err.message}
                </span>
              ) : (
                <span className="muted small" id="pit-fuel-hint" data-testid="pit-fuel-hint">
                  {fuel === null && prefill !== null ? 'from the live plan; ' : ''}empty: leave the fuel; 0: no fuel
                </span>
              )}
            </div>
            <TriSelect label="Fast repair" value={form.fastRepair} onChange={(v) => set('fastRepair', v)} />
            <TriSelect label="Windscreen tear-off" value={form.windscreen} onChange={(v) => set('windscreen', v)} />
          </div>
        </fieldset>
        <fieldset disabled={!canEdit} className="pit-tyres">
          <legend>Tyres {form.tyres ? '' : '(left as they are)'}</legend>
          <div className="actions">
            {CORNERS.map((k) => (
              <label key={k} className="inline check">
                <input type="checkbox" checked={!!form.tyres?.[k]} onChange={(e) => setCorner(k, e.target.checked)} />
                {CORNER_LABEL[k]}
              </label>
            ))}
          </div>
          <div className="actions">
            <button type="button" className="small" onClick={() => set('tyres', { ...ALL_FOUR })}>
              all four
            </button>
            <button type="button" className="small" onClick={() => set('tyres', { ...NO_TYRES })}>
              none
            </button>
            <button type="button" className="small" disabled={!form.tyres} onClick={() => set('tyres', null)}>
              leave as they are
            </button>
          </div>
          <div className={pressureBad ? 'field bad-field' : 'field'}>
            <label>
              Pressure (kPa, optional)
              <input
                inputMode="decimal"
                name="pit-pressure"
                value={form.pressure}
                disabled={!form.tyres}
                aria-invalid={pressureBad || undefined}
                aria-describedby={pressureBad ? 'err-pit-pressure' : undefined}
                onChange={(e) => set('pressure', e.target.value)}
              />
            </label>
            {pressureBad && (
              <span className="field-error" role="alert" id="err-pit-pressure">
                {err.message}
              </span>
            )}
          </div>
        </fieldset>
        {canEdit ? (
          <>
            <label className="inline check">
              <input type="checkbox" checked={form.clearAll} onChange={(e) => set('clearAll', e.target.checked)} />
              Clear everything first
            </label>
            <div className="actions">
              <button type="submit" disabled={!car}>
                Send to car
              </button>
              <button type="button" className="danger" disabled={!car} onClick={clear}>
                Clear pit stop
              </button>
            </div>
          </>
        ) : (
          <p className="muted" data-testid="pit-readonly">
            Read-only: engineers and admins set the pit stop.
          </p>
        )}
      </form>

      {sent && (
        <p role="status" className={sent.result === 'sent' ? 'ok' : undefined} data-testid="pit-sent" data-command-id={sent.command.id}>
          {sent.result === 'sent' ? `Sent to ${name(sent.command.driverId)}` : `Not connected: queued for ${name(sent.command.driverId)}`}: {summarise(sent.command)}
        </p>
      )}
      {refusal && (
        <p role="alert" className="bad" data-testid="pit-refused">
          The server refused the pit command: {refusal.message}
          {refusal.field ? ` (${refusal.field})` : ''} [{refusal.code}]
        </p>
      )}

      <dl className="kv pit-confirm">
        <div>
          <dt>Last command</dt>
          <dd data-testid="pit-last">
            {last ? (
              <>
                {summarise(last.command)}{' '}
                <span className="muted small">
                  — by {last.command.senderName} at {clock(last.command.timestamp)}
                </span>
              </>
            ) : (
              <span className="muted">none seen for {car ? name(car) : 'this car'}</span>
            )}
          </dd>
        </div>
        <div>
          <dt>In iRacing</dt>
          <dd data-testid="pit-iracing">
            {service ? (
              <>
                iRacing has: {describeService(service)}
                {diffs && (
                  <>
                    {' '}
                    —{' '}
                    <strong data-testid="pit-match" className={diffs.length ? 'bad' : 'ok'}>
                      {diffs.length ? `differs from what was sent: ${diffs.join(', ')}` : 'matches what was sent'}
                    </strong>
                  </>
                )}
              </>
            ) : (
              <span className="muted">
                iRacing has not confirmed (no pit service data from the sim){sim.streaming ? '' : ' — the car is not streaming'}
              </span>
            )}
          </dd>
        </div>
      </dl>
    </div>
  );
}
