import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  api,
  call,
  isProblem,
  toProblem,
  type Deployment,
  type Problem,
  type Schemas,
} from '../api/client';
import { LiveBadge, useLiveEvents } from '../live';
import { Link } from '../router';
import { can, roleIn, useSession } from '../session';
import { amount, ErrorBanner, StatusBadge, time } from '../ui';
import { NotFound } from './dashboard';

type Event = Schemas['DeploymentEventDto'];
type Action = 'start' | 'complete' | 'fail' | 'cancel';

const LABEL: Record<string, string> = {
  queued: 'Queued',
  placed: 'Placed',
  preempted: 'Evicted',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** Which actions the deployment's status allows (the role check is separate). */
function actionsFor(d: Deployment): Action[] {
  if (d.status === 'pending') return ['start', 'cancel'];
  if (d.status === 'running') return ['complete', 'fail', 'cancel'];
  return [];
}

export function DeploymentPage({ orgId, id }: { orgId: number; id: number }): JSX.Element {
  const session = useSession();
  const role = roleIn(session, orgId);
  const [d, setD] = useState<Deployment | null>(null);
  const [events, setEvents] = useState<Event[]>([]);
  const [clusters, setClusters] = useState<Map<number, string>>(new Map());
  const [missing, setMissing] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);

  const load = useCallback(async () => {
    if (!role) return;
    try {
      const path = { id };
      const [dep, evs, cs] = await Promise.all([
        call(api.GET('/deployments/{id}', { params: { path } })),
        call(api.GET('/deployments/{id}/events', { params: { path } })),
        call(api.GET('/clusters', { params: { query: { organization_id: orgId } } })),
      ]);
      if (dep.organization_id !== orgId) {
        setMissing(true);
        return;
      }
      setD(dep);
      setEvents(evs);
      setClusters(new Map(cs.map((c) => [c.id, c.name])));
    } catch (err) {
      const p = isProblem(err) ? err : toProblem(err);
      if (p.status === 404) setMissing(true);
      else setProblem(p);
    }
  }, [id, orgId, role]);

  useEffect(() => void load(), [load]);
  const stream = useLiveEvents(
    orgId,
    (e) => e.deployment_id === id,
    () => void load(),
  );

  if (!role || missing) return <NotFound />;
  if (!d) return <p aria-busy="true">Loading…</p>;

  const act = async (a: Action): Promise<void> => {
    setProblem(null);
    const params = { params: { path: { id } } };
    try {
      if (a === 'start') setD(await call(api.POST('/deployments/{id}/start', params)));
      if (a === 'complete') setD(await call(api.POST('/deployments/{id}/complete', params)));
      if (a === 'fail')
        setD(await call(api.POST('/deployments/{id}/fail', { ...params, body: {} })));
      if (a === 'cancel') setD(await call(api.POST('/deployments/{id}/cancel', params)));
      await load();
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    }
  };
  const allowed = can.act(role, d.user_id, session.me.id) ? actionsFor(d) : [];
  const cluster = d.cluster_id === null ? '—' : (clusters.get(d.cluster_id) ?? `#${d.cluster_id}`);

  return (
    <div class="deployment">
      <p class="crumbs">
        <Link to={`/orgs/${orgId}`}>← Dashboard</Link>
      </p>
      <div class="page-head">
        <h1>{d.name}</h1>
        <StatusBadge status={d.status} />
        <LiveBadge state={stream} />
      </div>
      <ErrorBanner problem={problem} />
      {allowed.length > 0 ? (
        <div class="actions" role="group" aria-label="Actions">
          {allowed.map((a) => (
            <button
              key={a}
              type="button"
              class={a === 'fail' || a === 'cancel' ? 'danger' : ''}
              onClick={() => void act(a)}
            >
              {a[0]!.toUpperCase() + a.slice(1)}
            </button>
          ))}
        </div>
      ) : null}
      <div class="columns">
        <section class="card" aria-labelledby="fields-title">
          <h2 id="fields-title">Details</h2>
          <dl class="fields">
            <dt>Status</dt>
            <dd data-field="status">{d.status}</dd>
            {d.pending_reason ? (
              <>
                <dt>Waiting because</dt>
                <dd data-field="pending_reason">
                  {d.pending_reason.message} <code>{d.pending_reason.code}</code>
                </dd>
              </>
            ) : null}
            {d.failure_reason ? (
              <>
                <dt>Failure</dt>
                <dd>{d.failure_reason}</dd>
              </>
            ) : null}
            <dt>Image</dt>
            <dd>
              <code>{d.docker_image}</code>
            </dd>
            <dt>Priority</dt>
            <dd>{d.priority}</dd>
            <dt>Cluster</dt>
            <dd data-field="cluster">
              {cluster}
              {d.pinned ? ' (pinned)' : ''}
            </dd>
            <dt>Requests</dt>
            <dd>
              {amount(d.required_ram)} GiB RAM, {amount(d.required_cpu)} CPU,{' '}
              {amount(d.required_gpu)} GPU
            </dd>
            <dt>Evicted</dt>
            <dd data-field="preemption_count">{d.preemption_count} times</dd>
            <dt>Depends on</dt>
            <dd>
              {d.depends_on.length === 0
                ? 'nothing'
                : d.depends_on.map((dep, i) => (
                    <span key={dep}>
                      {i > 0 ? ', ' : ''}
                      <Link to={`/orgs/${orgId}/deployments/${dep}`}>#{dep}</Link>
                    </span>
                  ))}
            </dd>
            <dt>Created</dt>
            <dd>{time(d.created_at)}</dd>
            <dt>Started</dt>
            <dd>{time(d.started_at)}</dd>
            <dt>Finished</dt>
            <dd>{time(d.completed_at)}</dd>
          </dl>
        </section>
        <section class="card timeline" aria-labelledby="timeline-title">
          <h2 id="timeline-title">Events</h2>
          <ol>
            {events.map((e) => (
              <li key={e.id} class={`ev ev-${e.type}`} data-event={e.type}>
                <strong>{LABEL[e.type] ?? e.type}</strong>{' '}
                <time dateTime={e.created_at}>{time(e.created_at)}</time>
                {e.cluster_id !== null ? (
                  <span> on {clusters.get(e.cluster_id) ?? `#${e.cluster_id}`}</span>
                ) : null}
                <span class="muted"> by {e.actor}</span>
                {e.reason ? <Reason text={e.reason} orgId={orgId} /> : null}
              </li>
            ))}
          </ol>
        </section>
      </div>
    </div>
  );
}

/** "preempted by deployment 12 (priority 50)": the preemptor becomes a link. */
function Reason({ text, orgId }: { text: string; orgId: number }): JSX.Element {
  const m = /^(.*deployment )(\d+)(.*)$/.exec(text);
  if (!m) return <div class="reason">{text}</div>;
  return (
    <div class="reason">
      {m[1]}
      <Link to={`/orgs/${orgId}/deployments/${m[2]}`}>{m[2]}</Link>
      {m[3]}
    </div>
  );
}
