import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  api,
  call,
  isProblem,
  toProblem,
  type Problem,
  type Role,
  type Schemas,
} from '../api/client';
import { can, roleIn, useSession } from '../session';
import { ErrorBanner, time } from '../ui';
import { NotFound } from './dashboard';

const ROLES: Role[] = ['admin', 'developer', 'viewer'];

export function MembersPage({ orgId }: { orgId: number }): JSX.Element {
  const session = useSession();
  const role = roleIn(session, orgId);
  const admin = can.manage(role);
  const [members, setMembers] = useState<Schemas['MemberDto'][]>([]);
  const [org, setOrg] = useState<Schemas['OrganizationDto'] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  const load = useCallback(async () => {
    if (!role) return;
    try {
      const path = { id: orgId };
      const [o, ms] = await Promise.all([
        call(api.GET('/organizations/{id}', { params: { path } })),
        call(api.GET('/organizations/{id}/members', { params: { path } })),
      ]);
      setOrg(o);
      setMembers(ms);
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    }
  }, [orgId, role]);
  useEffect(() => void load(), [load]);

  if (!role) return <NotFound />;
  const run = async (p: Promise<unknown>): Promise<void> => {
    setProblem(null);
    try {
      await p;
      await load();
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    }
  };
  const path = (userId: number) => ({ params: { path: { id: orgId, user_id: userId } } });

  return (
    <div class="members">
      <div class="page-head">
        <h1>{org?.name ?? 'Organization'}: members</h1>
      </div>
      <ErrorBanner problem={problem} />
      {admin && org?.invite_code ? (
        <section class="card" aria-labelledby="invite-title">
          <h2 id="invite-title">Invite code</h2>
          <p>
            Share this code; whoever joins with it becomes a developer.{' '}
            <code data-invite>{org.invite_code}</code>
          </p>
          <button
            type="button"
            onClick={() =>
              void run(
                call(
                  api.POST('/organizations/{id}/invite_code', { params: { path: { id: orgId } } }),
                ),
              )
            }
          >
            Rotate invite code
          </button>
        </section>
      ) : null}
      <section class="card" aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Since</th>
                {admin ? <th scope="col">Remove</th> : null}
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.user_id}>
                  <td>{m.username}</td>
                  <td>{m.email}</td>
                  <td>
                    {admin ? (
                      <select
                        aria-label={`Role of ${m.username}`}
                        value={m.role}
                        onChange={(e) =>
                          void run(
                            call(
                              api.PATCH('/organizations/{id}/members/{user_id}', {
                                ...path(m.user_id),
                                body: {
                                  role: e.currentTarget.value as Role,
                                },
                              }),
                            ),
                          )
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{time(m.created_at)}</td>
                  {admin ? (
                    <td>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Remove ${m.username}`}
                        onClick={() =>
                          void run(
                            api
                              .DELETE('/organizations/{id}/members/{user_id}', path(m.user_id))
                              .then((r) => {
                                if (!r.response.ok) throw toProblem(r.error, r.response);
                              }),
                          )
                        }
                      >
                        Remove
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
