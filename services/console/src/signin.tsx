// Signing in: the form (a user name and password, sent as HTTP Basic and checked against the
// user's SCRAM-stored keys, or an API token, sent as a bearer token), the principal in the header
// with sign-out, and the check of who the tab is (GET /v1/whoami). Credentials are kept only once
// the broker accepted them (session.ts keeps them for this tab).

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorText } from './api.js';
import { REFRESH_INTERVAL_MS } from './poll.js';
import {
  currentCredentials, currentSession, keepCredentials, passwordCredentials, setSession, subscribe, tokenCredentials, type Session,
} from './session.js';
import './signin.css';

export function useSession(): Session {
  const [session, setState] = useState(currentSession);
  useEffect(() => subscribe(setState), []);
  return session;
}

/**
 * Asks the broker who the tab is, with the credentials it keeps. A 401 has already signed the tab
 * out (api.ts); a broker that cannot say (down, or without /v1/whoami) leaves the console usable
 * without a name, and is asked again while it is down.
 */
export async function checkSession(): Promise<void> {
  try {
    setSession({ kind: 'signed-in', whoami: await api.whoami() });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    setSession({ kind: 'signed-in', whoami: null });
    if (e instanceof ApiError && (e.status === 0 || e.status >= 500)) setTimeout(() => void recheck(), REFRESH_INTERVAL_MS);
  }
}

async function recheck(): Promise<void> {
  const session = currentSession();
  if (session.kind === 'signed-in' && session.whoami === null) await checkSession();
}

function signOut(): void {
  const required = (() => {
    const session = currentSession();
    return session.kind === 'signed-in' && session.whoami?.authentication === 'required';
  })();
  keepCredentials(null);
  if (required) setSession({ kind: 'signed-out', refusal: null, notice: 'You signed out.' });
  else {
    // Without credentials the broker still answers (STRATA_AUTH=optional): as User:ANONYMOUS.
    setSession({ kind: 'checking' });
    void checkSession();
  }
}

const ANONYMOUS = 'User:ANONYMOUS';

/** The header's corner: who the broker takes the tab for, and sign-out (or sign-in where optional). */
export function Account({ session, onSignIn }: { session: Session; onSignIn: () => void }) {
  if (session.kind !== 'signed-in' || session.whoami === null) return null;
  const { principal, authentication } = session.whoami;
  const own = currentCredentials() !== null;
  // An open broker (STRATA_AUTH=none) has nobody to name and no sign-in to offer.
  if (principal === ANONYMOUS && authentication === 'none') return null;
  return (
    <div class="account">
      {principal === ANONYMOUS ? (
        <span>Not signed in</span>
      ) : (
        <span title={own ? 'The principal the broker authenticated' : 'Named by this browser (a client certificate, or a password it remembers for this site): the console cannot sign it out'}>
          Signed in as <strong data-testid="principal">{principal}</strong>
        </span>
      )}
      {own ? (
        <button type="button" onClick={signOut}>Sign out</button>
      ) : authentication !== 'none' ? (
        <button type="button" onClick={onSignIn}>Sign in</button>
      ) : null}
    </div>
  );
}

type Method = 'password' | 'token';

/** The sign-in view. `onCancel`: the console is usable without signing in (STRATA_AUTH=optional). */
export function SignIn({ session, onSignedIn, onCancel }: { session: Session; onSignedIn: () => void; onCancel?: () => void }) {
  const [method, setMethod] = useState<Method>('password');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  // The first field takes the focus when the view appears (not when the method changes: arrow keys
  // move between the radio buttons, and must stay there).
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const credentials = method === 'password' ? passwordCredentials(user, password) : tokenCredentials(token);
    setBusy(true);
    setError(undefined);
    try {
      // Asked with these credentials, not the tab's: a wrong password changes nothing kept.
      const whoami = await api.whoami(undefined, credentials.authorization);
      keepCredentials(credentials);
      setPassword('');
      setToken('');
      setSession({ kind: 'signed-in', whoami });
      onSignedIn();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const refusal = session.kind === 'signed-out' ? session.refusal : null;
  const notice = session.kind === 'signed-out' ? session.notice : null;
  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Strata</h1>
      {refusal !== null ? (
        <div class="error" role="alert">
          <strong>Your session ended: the broker no longer accepts your credentials</strong>
          <div class="error-text">{refusal}</div>
          <div class="muted">A token revoked or expired, or a password changed. Sign in again.</div>
        </div>
      ) : notice !== null ? (
        <p role="status">{notice}</p>
      ) : (
        <p class="muted">This broker asks who you are. Sign in as a Strata user, with a password or an API token.</p>
      )}
      {/* method="post": were the script ever not to stop the submission, nothing would go into the URL. */}
      <form class="card" aria-label="Sign in" method="post" onSubmit={(e) => void submit(e)}>
        <fieldset class="signin-method">
          <legend>Sign in with</legend>
          <label class="inline">
            <input type="radio" name="method" value="password" checked={method === 'password'} onChange={() => setMethod('password')} /> Password
          </label>
          <label class="inline">
            <input type="radio" name="method" value="token" checked={method === 'token'} onChange={() => setMethod('token')} /> API token
          </label>
        </fieldset>
        {method === 'password' ? (
          <>
            <label>
              User name
              <input ref={first} name="username" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
            </label>
            <label>
              Password
              <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        ) : (
          <label>
            API token
            <input ref={first} name="token" type="password" autocomplete="off" spellcheck={false} placeholder="strata_<id>_<secret>" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
        )}
        <div class="form-row">
          <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
          {onCancel ? <button type="button" onClick={onCancel}>Cancel</button> : null}
        </div>
        {error !== undefined ? (
          <div class="error" role="alert">
            <strong>{error instanceof ApiError && error.status === 401 ? 'Sign-in failed: the broker did not accept these credentials' : 'Could not sign in'}</strong>
            <div class="error-text">{errorText(error)}</div>
          </div>
        ) : null}
      </form>
      <p class="muted">Kept for this browser tab only, and sent to this broker with each request. Closing the tab or signing out forgets them.</p>
    </section>
  );
}
