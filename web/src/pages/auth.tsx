import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call, isProblem, toProblem, type Problem } from '../api/client';
import { Link } from '../router';
import { ErrorBanner, Field, fieldErrors } from '../ui';

async function token(username: string, password: string): Promise<string> {
  const t = await call(api.POST('/token', { body: { username, password } }));
  return t.access_token;
}

const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;

export function LoginPage({ onSignedIn }: { onSignedIn: (t: string) => void }): JSX.Element {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(await token(username, password));
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const errs = fieldErrors(problem);
  return (
    <section class="card auth" aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      <form onSubmit={(e) => void submit(e)}>
        <Field id="login-username" label="Username or email" error={errs.username}>
          {(a) => (
            <input
              {...a}
              autocomplete="username"
              required
              value={username}
              onInput={(e) => setUsername(value(e))}
            />
          )}
        </Field>
        <Field id="login-password" label="Password" error={errs.password}>
          {(a) => (
            <input
              {...a}
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(value(e))}
            />
          )}
        </Field>
        <ErrorBanner problem={problem && !problem.errors ? problem : null} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        No account? <Link to="/signup">Sign up</Link>
      </p>
    </section>
  );
}

export function SignupPage({ onSignedIn }: { onSignedIn: (t: string) => void }): JSX.Element {
  const [email, setEmail] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await call(api.POST('/users', { body: { email, username, password } }));
      onSignedIn(await token(username, password));
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const errs = fieldErrors(problem);
  return (
    <section class="card auth" aria-labelledby="signup-title">
      <h1 id="signup-title">Create an account</h1>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field id="signup-email" label="Email" error={errs.email}>
          {(a) => (
            <input
              {...a}
              type="email"
              autocomplete="email"
              value={email}
              onInput={(e) => setEmail(value(e))}
            />
          )}
        </Field>
        <Field
          id="signup-username"
          label="Username"
          error={errs.username}
          hint="3–32 of A–Z a–z 0–9 _ . -"
        >
          {(a) => (
            <input
              {...a}
              autocomplete="username"
              value={username}
              onInput={(e) => setUsername(value(e))}
            />
          )}
        </Field>
        <Field id="signup-password" label="Password" error={errs.password} hint="8–128 characters">
          {(a) => (
            <input
              {...a}
              type="password"
              autocomplete="new-password"
              value={password}
              onInput={(e) => setPassword(value(e))}
            />
          )}
        </Field>
        <ErrorBanner problem={problem && !problem.errors ? problem : null} />
        <button type="submit" disabled={busy}>
          Sign up
        </button>
      </form>
      <p>
        Have an account? <Link to="/login">Sign in</Link>
      </p>
    </section>
  );
}
