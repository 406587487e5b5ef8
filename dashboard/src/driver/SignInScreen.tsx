import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { LocalApi, LoginInfo } from './api';
import type { Act } from './StatusScreen';

/** What the driver should know about the sign-in on this PC, in one sentence. */
export function loginSentence(l: LoginInfo): string {
  if (l.agentUses === 'token') {
    return l.signedIn
      ? `Signed in as ${l.username}. PitBox Driver was started with a fixed token (--token), which it keeps using; start it without --token to use this sign-in.`
      : 'Not signed in. PitBox Driver was started with a fixed token (--token), which it keeps using.';
  }
  if (!l.signedIn) return l.restartNeeded ? `Signed out. PitBox Driver still streams as ${l.running} until it is started again.` : 'Not signed in: nothing goes to the team.';
  if (l.inUse) return `Signed in as ${l.username} at ${l.cloud}.`;
  return `Signed in as ${l.username} at ${l.cloud}. Start PitBox Driver again to stream with this sign-in.`;
}

/** Sign in (the team's PitBox address, username, password) and sign out; the agent does it and
 * keeps the sign-in as `pitbox driver login` does. */
export function SignInScreen({ api, act }: { api: LocalApi; act: Act }) {
  const [info, setInfo] = useState<LoginInfo | null>(null);
  const [unavailable, setUnavailable] = useState('');
  const [cloud, setCloud] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const l = await api.loginInfo();
      setInfo(l);
      setUnavailable('');
      if (l.cloud) setCloud((c) => c || (l.cloud ?? ''));
    } catch (e) {
      setUnavailable(e instanceof Error ? e.message : String(e));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const ok = await act(async () => setInfo(await api.signIn(cloud, username, password)));
    setBusy(false);
    if (ok) setPassword('');
  };
  const signOut = async () => {
    setBusy(true);
    await act(async () => setInfo(await api.signOut()));
    setBusy(false);
  };

  return (
    <div className="drv-grid">
      <section aria-labelledby="h-signin" className="drv-card">
        <h2 id="h-signin">Sign in</h2>
        {unavailable && <p className="bad">{unavailable}</p>}
        {info && (
          <p data-testid="login-state" className={info.inUse ? 'ok' : 'warn'}>
            {loginSentence(info)}
          </p>
        )}
        {info?.cloudSignOut && info.cloudSignOut !== 'ended' && (
          <p className="warn" data-testid="cloud-sign-out">
            Signed out on this PC, but {info.cloudSignOut}.
          </p>
        )}
        {info?.signedIn && (
          <button type="button" className="drv-decline" disabled={busy} onClick={() => void signOut()}>
            Sign out
          </button>
        )}
        <form className="drv-form" onSubmit={(e) => void submit(e)}>
          <label>
            Team's PitBox address
            <input value={cloud} onChange={(e) => setCloud(e.target.value)} placeholder="https://pitbox.myteam.com" autoComplete="url" />
          </label>
          <label>
            Username
            <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" />
          </label>
          <label>
            Password
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
          </label>
          <button type="submit" disabled={busy || !cloud.trim() || !username.trim() || !password}>
            {info?.signedIn ? 'Sign in as someone else' : 'Sign in'}
          </button>
        </form>
      </section>
    </div>
  );
}
