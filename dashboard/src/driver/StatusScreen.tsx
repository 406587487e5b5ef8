import type { LocalApi, Snapshot } from './api';
import type { StatusLine } from './status';

export type Act = (what: () => Promise<unknown>) => Promise<boolean>;

/** Sim, team link, cloud and voice, each with why when it is not ok; the counters behind them;
 * the pit stop the pit wall set, with "Cancel pit stop". */
export function StatusScreen({ snap, lines, act, api }: { snap: Snapshot; lines: StatusLine[]; act: Act; api: LocalApi }) {
  const s = snap.status;
  const pit = s.pitCommand;
  return (
    <div className="drv-grid">
      <section aria-labelledby="h-status" className="drv-card">
        <h2 id="h-status">Status</h2>
        <dl className="drv-status">
          {lines.map((l) => (
            <div key={l.key} className={`drv-line ${l.level}`}>
              <dt>{l.name}</dt>
              <dd data-testid={`status-${l.key}`}>
                <strong>{l.text}</strong>
                {l.reason && <span className="drv-reason"> — {l.reason}</span>}
              </dd>
            </div>
          ))}
        </dl>
      </section>
      <section aria-labelledby="h-counts" className="drv-card">
        <h2 id="h-counts">Samples</h2>
        <dl className="drv-kv">
          <dt>Produced</dt>
          <dd data-testid="samples-produced">{(s.samplesProduced ?? 0).toLocaleString('en-US')}</dd>
          <dt>Sent</dt>
          <dd data-testid="samples-sent">{s.telemetrySent.toLocaleString('en-US')}</dd>
          <dt>Refused</dt>
          <dd className={s.samplesRefused ? 'bad' : undefined}>{s.samplesRefused.toLocaleString('en-US')}</dd>
          <dt>Waiting on disk</dt>
          <dd>{s.spool ? s.spool.samples.toLocaleString('en-US') : 'no spool'}</dd>
          <dt>Driver id</dt>
          <dd>{s.driverId}</dd>
        </dl>
      </section>
      {!s.video && s.videoReady && (
        <section aria-labelledby="h-video" className="drv-card">
          <h2 id="h-video">Video</h2>
          <p className="drv-muted">Your screen is not sent. Settings choose what is captured ({s.videoReady}).</p>
          <button type="button" className="drv-accept" onClick={() => void act(() => api.setVideo(true))}>
            Send my screen
          </button>
        </section>
      )}
      {s.video && (
        <section aria-labelledby="h-video" className="drv-card">
          <h2 id="h-video">Video</h2>
          {s.video.paused ? (
            <button type="button" className="drv-accept" onClick={() => void act(() => api.setVideo(true))}>
              Send my screen again
            </button>
          ) : (
            <button type="button" className="drv-decline" onClick={() => void act(() => api.setVideo(false))}>
              Stop sending my screen
            </button>
          )}
        </section>
      )}
      <section aria-labelledby="h-pit" className="drv-card">
        <h2 id="h-pit">Pit stop</h2>
        {pit ? (
          <>
            <p data-testid="pit-stop" className={pit.applied ? 'ok' : 'warn'}>
              {pit.summary} — {pit.applied ? `set in ${pit.target ?? 'the sim'}` : `not set: ${pit.reason ?? 'unknown'}`}
            </p>
            {pit.summary !== 'everything cleared' && (
              <button type="button" className="drv-decline" onClick={() => void act(() => api.clearPitStop())}>
                Cancel pit stop
              </button>
            )}
          </>
        ) : (
          <p className="drv-muted">No pit stop set by the pit wall.</p>
        )}
      </section>
    </div>
  );
}
