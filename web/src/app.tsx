import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, auth, call, type Organization, type Schemas } from './api/client';
import { DashboardPage } from './pages/dashboard';
import { DeploymentPage } from './pages/deployment';
import { LoginPage, SignupPage } from './pages/auth';
import { MembersPage } from './pages/members';
import { OrgsPage } from './pages/orgs';
import { Link, match, navigate, usePath } from './router';
import { SessionContext, type Session } from './session';

export function App(): JSX.Element {
  const path = usePath();
  const [token, setToken] = useState(auth.token);
  const [me, setMe] = useState<Schemas['UserDto'] | null>(null);
  const [orgs, setOrgs] = useState<Organization[] | null>(null);

  const signOut = useCallback(() => {
    auth.clear();
    setToken(null);
    setMe(null);
    setOrgs(null);
    navigate('/login', true);
  }, []);
  auth.onExpired = signOut;

  const reloadOrgs = useCallback(async () => {
    const list = await call(api.GET('/organizations'));
    setOrgs(list);
    return list;
  }, []);

  useEffect(() => {
    if (!token) return;
    void (async () => {
      try {
        setMe(await call(api.GET('/users/me')));
        await reloadOrgs();
      } catch {
        signOut();
      }
    })();
  }, [token, reloadOrgs, signOut]);

  const signedIn = (t: string): void => {
    auth.set(t);
    setToken(t);
    navigate('/', true);
  };

  if (!token) {
    if (path === '/signup') return <Shell>{<SignupPage onSignedIn={signedIn} />}</Shell>;
    return <Shell>{<LoginPage onSignedIn={signedIn} />}</Shell>;
  }
  if (!me || !orgs) {
    return (
      <Shell>
        <p class="loading" aria-busy="true">
          Loading…
        </p>
      </Shell>
    );
  }
  const session: Session = { me, orgs, reloadOrgs, signOut };
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} path={path}>
        <Routes path={path} session={session} />
      </Shell>
    </SessionContext.Provider>
  );
}

function Routes({ path, session }: { path: string; session: Session }): JSX.Element {
  let m: Record<string, number> | null;
  if ((m = match('/orgs/:org/deployments/:id', path))) {
    return <DeploymentPage key={`${m.org}-${m.id}`} orgId={m.org!} id={m.id!} />;
  }
  if ((m = match('/orgs/:org/members', path))) return <MembersPage key={m.org} orgId={m.org!} />;
  if ((m = match('/orgs/:org', path))) return <DashboardPage key={m.org} orgId={m.org!} />;
  if (path === '/orgs/new' || session.orgs.length === 0) return <OrgsPage />;
  const first = session.orgs[0]!;
  return <Redirect to={`/orgs/${first.id}`} />;
}

function Redirect({ to }: { to: string }): null {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

function currentOrg(path: string): number | null {
  const m = /^\/orgs\/(\d+)/.exec(path);
  return m ? Number(m[1]) : null;
}

function Shell(props: {
  session?: Session;
  path?: string;
  children: JSX.Element | JSX.Element[];
}): JSX.Element {
  const { session, path = '/' } = props;
  const orgId = currentOrg(path);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link to="/" class="brand">
          Berth
        </Link>
        {session ? (
          <nav aria-label="Main">
            <label class="org-switch">
              <span class="sr-only">Organization</span>
              <select
                aria-label="Organization"
                value={orgId ?? ''}
                onChange={(e) => {
                  const v = e.currentTarget.value;
                  navigate(v === 'new' ? '/orgs/new' : `/orgs/${v}`);
                }}
              >
                {orgId === null ? <option value="">Choose an organization</option> : null}
                {session.orgs.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name} ({o.role})
                  </option>
                ))}
                <option value="new">+ New or join…</option>
              </select>
            </label>
            {orgId !== null ? (
              <>
                <Link to={`/orgs/${orgId}`}>Dashboard</Link>
                <Link to={`/orgs/${orgId}/members`}>Members</Link>
              </>
            ) : null}
            <span class="who" title={session.me.email}>
              {session.me.username}
            </span>
            <button type="button" class="link" onClick={session.signOut}>
              Sign out
            </button>
          </nav>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
