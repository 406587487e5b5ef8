// /video: the drivers' screens on the pit wall (docs/video.md). One <canvas data-driver-id>
// per driver that is sending, each with its age ("0.3 s behind", from the capture time in the
// frame); clicking a tile makes it the large view, beside that driver's live numbers. WebCodecs
// needs a secure context: on a plain-http LAN relay the page says how to get one.

import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { wsUrl } from '../api/endpoints';
import { useApp, useServices } from '../app/context';
import { DriverName } from '../components/DriverName';
import { VideoLink, webCodecsAvailable, type StreamInfo } from '../video/link';
import { formatAge } from '../video/wire';

/** Re-renders every `ms` (the ages tick even when no frame comes). */
function useTick(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

const LiveNumbers = memo(function LiveNumbers({ id }: { id: string }) {
  const t = useApp((s) => s.drivers[id]?.latest ?? null);
  if (!t) return <p className="muted small">No telemetry from this driver yet.</p>;
  return (
    <dl className="video-numbers">
      <dt>Speed</dt>
      <dd>{Math.round(t.speed)} km/h</dd>
      <dt>Gear</dt>
      <dd>{t.gear}</dd>
      <dt>Lap</dt>
      <dd>{t.lap}</dd>
      <dt>Throttle / brake</dt>
      <dd>
        {Math.round(t.throttle)} % / {Math.round(t.brake)} %
      </dd>
      <dt>Fuel</dt>
      <dd>{t.fuelLevel.toFixed(1)} %</dd>
    </dl>
  );
});

function Tile({ info, link, large, onPick, now }: { info: StreamInfo; link: VideoLink; large: boolean; onPick: (id: string) => void; now: number }) {
  const ref = useCallback((c: HTMLCanvasElement | null) => link.attach(info.streamId, c), [link, info.streamId]);
  const age = info.lastCaptureMs > 0 ? formatAge(now - info.lastCaptureMs) : 'waiting for a keyframe…';
  const stale = info.lastDrawnAt > 0 && now - info.lastDrawnAt > 3000;
  return (
    <figure className={`video-tile${large ? ' large' : ''}${stale ? ' stale' : ''}`} data-testid={`video-tile-${info.streamId}`}>
      <button type="button" className="video-pick" onClick={() => onPick(info.streamId)} aria-label={`Show ${info.streamId} large`}>
        <canvas ref={ref} data-driver-id={info.streamId} width={info.width || 1280} height={info.height || 720} />
      </button>
      <figcaption>
        <DriverName id={info.streamId} fallback={info.streamId} showRole={false} />{' '}
        <span className="muted small" data-testid="video-age">
          {stale ? `no picture for ${formatAge(now - info.lastDrawnAt).replace(' behind', '')}` : age}
        </span>
      </figcaption>
      {large && <LiveNumbers id={info.streamId} />}
    </figure>
  );
}

const PIT_WALL_ROLES = new Set(['admin', 'engineer']);

function requestId(): string {
  const r = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `vid-${r.replace(/[^A-Za-z0-9_-]/g, '')}`.slice(0, 64);
}

/** The team's drivers who are not sending, each with "Ask for video" for the pit wall's roles:
 * the driver's window asks the driver, who decides. */
function NotSending({ sending }: { sending: ReadonlySet<string> }) {
  const svc = useServices();
  const ids = useApp((s) => Object.keys(s.drivers).sort().join('\n'));
  const me = useApp((s) => s.me);
  const errors = useApp((s) => s.errors);
  const [asked, setAsked] = useState<Record<string, number>>({});
  const idle = ids.split('\n').filter((id) => id !== '' && !sending.has(id));
  if (idle.length === 0) return null;
  const mayAsk = me !== null && PIT_WALL_ROLES.has(me.role);
  const ask = (driverId: string) => {
    if (!me) return;
    const at = Date.now();
    svc.send({ type: 'video_request', data: { id: requestId(), driverId, senderId: me.id, senderName: me.username, timestamp: new Date(at).toISOString() } });
    setAsked((a) => ({ ...a, [driverId]: at }));
  };
  return (
    <div className="card" data-testid="video-not-sending">
      <h2 className="small">Not sending</h2>
      <ul className="plain">
        {idle.map((id) => {
          const at = asked[id];
          const refused = at ? errors.filter((e) => e.messageType === 'video_request' && e.at >= at).pop() : undefined;
          return (
            <li key={id} data-driver-id={id}>
              <DriverName id={id} />{' '}
              {refused ? (
                <span className="bad small" role="alert">
                  refused: {refused.message}
                </span>
              ) : at ? (
                <span className="muted small">asked at {new Date(at).toLocaleTimeString()} — the driver answers in their PitBox window</span>
              ) : mayAsk ? (
                <button type="button" onClick={() => ask(id)}>
                  Ask for video
                </button>
              ) : (
                <span className="muted small">not sending</span>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

export function Video() {
  const svc = useServices();
  const [streams, setStreams] = useState<StreamInfo[]>([]);
  const [status, setStatus] = useState('connecting');
  const [picked, setPicked] = useState<string | null>(null);
  const linkRef = useRef<VideoLink | null>(null);
  const supported = webCodecsAvailable();
  const now = useTick(250);

  if (supported && !linkRef.current) {
    linkRef.current = new VideoLink({ url: wsUrl(svc.config.wsPath), getToken: () => svc.auth.token, onChange: setStreams, onStatus: setStatus });
  }
  useEffect(() => {
    const link = linkRef.current;
    if (!link) return;
    link.start();
    return () => link.stop();
  }, []);

  if (!supported) {
    return (
      <section aria-labelledby="video-h">
        <h1 id="video-h">Video</h1>
        <div className="card" role="note" data-testid="video-insecure">
          <p>
            This browser cannot decode the drivers' video here: WebCodecs needs a secure context — <code>https://</code>, or{' '}
            <code>http://localhost</code> / <code>http://127.0.0.1</code> on the machine itself.
          </p>
          <p>
            On a LAN relay served over plain http, start the relay with TLS (<code>pitbox relay --tls-cert … --tls-key …</code>, docs/relay.md) and open
            the pit wall with <code>https://</code>, or watch through the cloud's https address.
          </p>
        </div>
      </section>
    );
  }
  const link = linkRef.current!;
  const large = picked && streams.some((s) => s.streamId === picked) ? picked : (streams[0]?.streamId ?? null);
  return (
    <section aria-labelledby="video-h">
      <h1 id="video-h">Video</h1>
      <p className="muted small" data-testid="video-status">
        {streams.length === 0
          ? status === 'live'
            ? 'No driver is sending video. A driver turns it on with pitbox driver --video …, or answers the pit wall’s request in their window.'
            : `Video link: ${status}`
          : `${streams.length} driver${streams.length > 1 ? 's' : ''} sending · link ${status}`}
      </p>
      <div className="video-wall">
        {streams.map((s) => (
          <Tile key={s.streamId} info={s} link={link} large={s.streamId === large} onPick={setPicked} now={now} />
        ))}
      </div>
      <NotSending sending={new Set(streams.map((s) => s.streamId))} />
    </section>
  );
}
