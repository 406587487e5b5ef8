// The driver's window (issue 22 §1): served by `pitbox driver` at http://127.0.0.1:8766/, built
// from the dashboard's sources. Four screens — Live, Status, Settings, Sign in — under a strip that always shows
// the four states, so one glance at a second screen tells whether all is well.
import { useCallback, useEffect, useState } from 'react';
import { LocalApi, type Snapshot } from './api';
import { LiveScreen } from './LiveScreen';
import { SettingsScreen } from './SettingsScreen';
import { SignInScreen } from './SignInScreen';
import { StatusScreen } from './StatusScreen';
import { statusLines } from './status';

export type Screen = 'live' | 'status' | 'settings' | 'signin';
const SCREENS: { id: Screen; label: string }[] = [
  { id: 'live', label: 'Live' },
  { id: 'status', label: 'Status' },
  { id: 'settings', label: 'Settings' },
  { id: 'signin', label: 'Sign in' },
];

function screenOf(hash: string): Screen {
  const s = hash.replace(/^#\/?/, '');
  return SCREENS.some((x) => x.id === s) ? (s as Screen) : 'live';
}

export function DriverApp({ api = new LocalApi(), pollMs = 1000 }: { api?: LocalApi; pollMs?: number }) {
  const [snap, setSnap] = useState<Snapshot | null>(null);
  // Two kinds of trouble, kept apart so that a poll that works does not wipe a refused action.
  const [linkError, setLinkError] = useState('');
  const [actionError, setActionError] = useState('');
  const [screen, setScreen] = useState<Screen>(() => screenOf(location.hash));
  const [now, setNow] = useState(() => Date.now());

  const refresh = useCallback(async () => {
    try {
      setSnap(await api.snapshot());
      setLinkError('');
    } catch (e) {
      setLinkError(`The agent does not answer: ${e instanceof Error ? e.message : String(e)}`);
    }
    setNow(Date.now());
  }, [api]);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), pollMs);
    return () => clearInterval(t);
  }, [refresh, pollMs]);

  useEffect(() => {
    const on = () => setScreen(screenOf(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  /** Runs one of the driver's actions; a refusal is shown, then the state is read again. */
  const act = useCallback(
    async (what: () => Promise<unknown>) => {
      try {
        await what();
        setActionError('');
        return true;
      } catch (e) {
        setActionError(e instanceof Error ? e.message : String(e));
        return false;
      } finally {
        void refresh();
      }
    },
    [refresh],
  );

  const lines = snap ? statusLines(snap.status, snap.voice) : [];
  return (
    <div className="drv">
      <header className="drv-head">
        <h1>PitBox driver</h1>
        <nav aria-label="Screens" className="drv-tabs">
          {SCREENS.map((s) => (
            <a key={s.id} href={`#/${s.id}`} aria-current={screen === s.id ? 'page' : undefined} onClick={() => setScreen(s.id)}>
              {s.label}
            </a>
          ))}
        </nav>
        <ul className="drv-strip" aria-label="At a glance">
          {lines.map((l) => (
            <li key={l.key} className={`drv-pill ${l.level}`} data-testid={`pill-${l.key}`} title={l.reason ?? l.text}>
              <span className="dot" aria-hidden="true" />
              {l.name}: {l.text}
            </li>
          ))}
        </ul>
        {snap && <span className="drv-who">{snap.status.login?.username ?? snap.status.driverId}</span>}
      </header>
      {snap?.status.videoRequest && (
        <section className="drv-card drv-ask" aria-labelledby="h-video-ask" data-testid="video-ask">
          <h2 id="h-video-ask">{snap.status.videoRequest.senderName} asks for your screen</h2>
          <p className="drv-muted">Your screen goes to your team's pit wall only, live, never stored. You can stop it on the Status tab.</p>
          <button type="button" className="drv-accept" onClick={() => void act(() => api.setVideo(true))}>
            Send my screen
          </button>{' '}
          <button type="button" className="drv-decline" onClick={() => void act(() => api.setVideo(false))}>
            Not now
          </button>
        </section>
      )}
      <p className="drv-error" role="alert" data-testid="error">
        {[linkError, actionError].filter(Boolean).join(' · ')}
      </p>
      <main>
        {!snap ? (
          <p className="drv-muted">Reading the agent…</p>
        ) : screen === 'signin' ? (
          <SignInScreen api={api} act={act} />
        ) : screen === 'settings' ? (
          <SettingsScreen api={api} act={act} />
        ) : screen === 'status' ? (
          <StatusScreen snap={snap} lines={lines} act={act} api={api} />
        ) : (
          <LiveScreen snap={snap} now={now} act={act} api={api} />
        )}
      </main>
    </div>
  );
}
