// The console's shell: navigation, the light/dark switch, who is signed in, and the view the URL
// names (or the sign-in view, while the broker wants credentials the tab does not have).

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Events } from './events.js';
import { Groups, GroupView } from './groups.js';
import { Messages } from './messages.js';
import { Overview } from './overview.js';
import { href, useRoute, type Route } from './route.js';
import { TopicView } from './topic.js';
import { Topics } from './topics.js';
import { Account, checkSession, SignIn, useSession } from './signin.js';
import { Loading } from './ui.js';
import './style.css';

type Theme = 'light' | 'dark' | 'system';
const THEME_KEY = 'strata-console-theme';

function View({ route }: { route: Route }) {
  const [section, name] = route.parts;
  switch (section) {
    case undefined:
    case 'overview':
      return <Overview />;
    case 'topics':
      return name ? <TopicView name={name} key={name} route={route} /> : <Topics route={route} />;
    case 'messages':
      return <Messages route={route} />;
    case 'groups':
      return name ? <GroupView name={name} key={name} /> : <Groups />;
    case 'events':
      return <Events route={route} />;
    default:
      return <p class="empty">No such view: <code>{location.hash}</code>. <a href={href([])}>Back to the overview</a>.</p>;
  }
}

const NAV: Array<[string, string]> = [
  ['overview', 'Overview'],
  ['topics', 'Topics'],
  ['messages', 'Messages'],
  ['groups', 'Consumer groups'],
  ['events', 'Cluster events'],
];

function App() {
  const route = useRoute();
  const session = useSession();
  // Opened from the header where signing in is optional (STRATA_AUTH=optional).
  const [signingIn, setSigningIn] = useState(false);
  useEffect(() => void checkSession(), []);
  const signInShown = session.kind === 'signed-out' || signingIn;
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(THEME_KEY) as Theme | null) ?? 'system');
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  const current = route.parts[0] ?? 'overview';
  useEffect(() => {
    document.title = `${signInShown ? 'Sign in' : (NAV.find(([id]) => id === current)?.[1] ?? 'Strata')} · Strata console`;
  }, [current, signInShown]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">Strata</span>
        <nav aria-label="Views">
          {signInShown
            ? null
            : NAV.map(([id, label]) => (
              <a key={id} href={href([id])} aria-current={current === id ? 'page' : undefined}>{label}</a>
            ))}
        </nav>
        <Account session={session} onSignIn={() => setSigningIn(true)} />
        <label class="theme">
          Theme{' '}
          <select value={theme} onChange={(e) => setTheme(e.currentTarget.value as Theme)}>
            <option value="system">system</option>
            <option value="light">light</option>
            <option value="dark">dark</option>
          </select>
        </label>
      </header>
      <main id="main" tabIndex={-1}>
        {session.kind === 'checking' ? (
          <Loading />
        ) : signInShown ? (
          <SignIn session={session} onSignedIn={() => setSigningIn(false)} onCancel={session.kind === 'signed-in' ? () => setSigningIn(false) : undefined} />
        ) : (
          <View route={route} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
