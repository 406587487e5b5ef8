import { useState, type FormEvent } from 'react';
import { ApiError, type AuthManager } from '../api/auth';
import type { ServerConfig } from '../api/endpoints';

export function Login({ auth, config, reason }: { auth: AuthManager; config: ServerConfig; reason: string | null }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [useToken, setUseToken] = useState(!config.restApi);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (useToken) auth.loginWithToken(token);
      else await auth.login(username, password);
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">PitBox</h1>
        <p className="muted">Team dashboard · {config.serverName}</p>
        {reason && (
          <p role="status" className="notice">
            {reason}
          </p>
        )}
        {useToken ? (
          <label>
            Access token
            <textarea value={token} onChange={(e) => setToken(e.target.value)} rows={4} required autoComplete="off" spellCheck={false} />
            <span className="muted small">Made by <code>pitbox token</code> for a relay, or issued by the cloud.</span>
          </label>
        ) : (
          <>
            <label>
              Username
              <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" required autoFocus />
            </label>
            <label>
              Password
              <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
            </label>
          </>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {config.restApi && (
          <button type="button" className="link" onClick={() => setUseToken(!useToken)}>
            {useToken ? 'Sign in with username and password' : 'Sign in with a token'}
          </button>
        )}
      </form>
    </main>
  );
}
