import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call, isProblem, toProblem, type Problem } from '../api/client';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorBanner, Field, fieldErrors } from '../ui';

const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;

/** Create an organisation, or join one by invite code. */
export function OrgsPage(): JSX.Element {
  const session = useSession();
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [createProblem, setCreateProblem] = useState<Problem | null>(null);
  const [joinProblem, setJoinProblem] = useState<Problem | null>(null);

  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    setCreateProblem(null);
    try {
      const org = await call(api.POST('/organizations', { body: { name } }));
      await session.reloadOrgs();
      navigate(`/orgs/${org.id}`);
    } catch (err) {
      setCreateProblem(isProblem(err) ? err : toProblem(err));
    }
  };
  const join = async (e: Event): Promise<void> => {
    e.preventDefault();
    setJoinProblem(null);
    try {
      const m = await call(
        api.POST('/organizations/{invite_code}/join', {
          params: { path: { invite_code: code.trim() } },
        }),
      );
      await session.reloadOrgs();
      navigate(`/orgs/${m.organization_id}`);
    } catch (err) {
      setJoinProblem(isProblem(err) ? err : toProblem(err));
    }
  };
  const errs = fieldErrors(createProblem);
  return (
    <div class="pair">
      <section class="card" aria-labelledby="new-org">
        <h1 id="new-org">New organization</h1>
        <form onSubmit={(e) => void create(e)} noValidate>
          <Field id="org-name" label="Name" error={errs.name}>
            {(a) => <input {...a} value={name} onInput={(e) => setName(value(e))} />}
          </Field>
          <ErrorBanner problem={createProblem && !createProblem.errors ? createProblem : null} />
          <button type="submit">Create organization</button>
        </form>
      </section>
      <section class="card" aria-labelledby="join-org">
        <h2 id="join-org">Join with an invite code</h2>
        <form onSubmit={(e) => void join(e)}>
          <Field id="invite-code" label="Invite code">
            {(a) => <input {...a} required value={code} onInput={(e) => setCode(value(e))} />}
          </Field>
          <ErrorBanner problem={joinProblem} />
          <button type="submit">Join</button>
        </form>
      </section>
    </div>
  );
}
