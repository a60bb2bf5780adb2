import type { JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  call,
  isProblem,
  toProblem,
  type Cluster,
  type Deployment,
  type Problem,
  type Schemas,
} from '../api/client';
import type { StreamEvent } from '../api/sse';
import { LiveBadge, useLiveEvents } from '../live';
import { Link } from '../router';
import { can, roleIn, useSession } from '../session';
import { age, Bar, duration, ErrorBanner, Field, fieldErrors, StatusBadge, time } from '../ui';
import { SubmitForm } from './submit';

type Metrics = Schemas['QueueMetricsDto'];
const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
type Status = (typeof STATUSES)[number];
const PAGE_SIZE = 20;

export function NotFound(): JSX.Element {
  return (
    <section class="card">
      <h1>Not found</h1>
      <p>
        There is nothing here, or it belongs to an organization you are not a member of.{' '}
        <Link to="/">Back to your organizations</Link>
      </p>
    </section>
  );
}

export function DashboardPage({ orgId }: { orgId: number }): JSX.Element {
  const session = useSession();
  const role = roleIn(session, orgId);
  const org = session.orgs.find((o) => o.id === orgId);
  const [clusters, setClusters] = useState<Cluster[] | null>(null);
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const owners = useRef<Map<number, string>>(new Map());
  const [status, setStatus] = useState<Status | ''>('');
  const [clusterFilter, setClusterFilter] = useState<number | ''>('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Schemas['DeploymentPageDto'] | null>(null);
  const [feed, setFeed] = useState<StreamEvent[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    if (!role) return;
    try {
      const query = { organization_id: orgId };
      const [cs, m, p] = await Promise.all([
        call(api.GET('/clusters', { params: { query } })),
        call(api.GET('/deployments/queue/metrics', { params: { query } })),
        call(
          api.GET('/deployments', {
            params: {
              query: {
                ...query,
                limit: PAGE_SIZE,
                ...(status ? { status } : {}),
                ...(clusterFilter !== '' ? { cluster_id: clusterFilter } : {}),
                ...(cursor ? { cursor } : {}),
              },
            },
          }),
        ),
      ]);
      // Owners' names: the member list is read again only when a new owner shows up.
      if (p.items.some((d) => !owners.current.has(d.user_id)) || owners.current.size === 0) {
        const members = await call(
          api.GET('/organizations/{id}/members', { params: { path: { id: orgId } } }),
        );
        owners.current = new Map(members.map((x) => [x.user_id, x.username]));
      }
      setClusters(cs);
      setMetrics(m);
      setPage(p);
      setProblem(null);
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    }
  }, [orgId, role, status, clusterFilter, cursor]);

  useEffect(() => void load(), [load]);
  const stream = useLiveEvents(
    orgId,
    (e) => {
      setFeed((f) => [e, ...f].slice(0, 25));
      return true;
    },
    () => void load(),
  );

  if (!role || !org) return <NotFound />;
  const clusterName = new Map((clusters ?? []).map((c) => [c.id, c.name]));
  const queueOf = new Map((metrics?.clusters ?? []).map((c) => [c.cluster_id, c]));

  return (
    <div class="dashboard">
      <div class="page-head">
        <h1>{org.name}</h1>
        <span class="role">your role: {role}</span>
        <LiveBadge state={stream} />
      </div>
      <ErrorBanner problem={problem} />
      <section aria-labelledby="clusters-title" class="clusters">
        <h2 id="clusters-title">Clusters</h2>
        <div class="cards">
          {(clusters ?? []).map((c) => (
            <ClusterCard
              key={c.id}
              cluster={c}
              running={queueOf.get(c.id)?.running ?? 0}
              pending={queueOf.get(c.id)?.pending ?? 0}
              admin={can.manage(role)}
              onChanged={() => void load()}
            />
          ))}
          {clusters && clusters.length === 0 ? <p class="empty">No clusters yet.</p> : null}
        </div>
        {can.manage(role) ? <NewCluster orgId={orgId} onCreated={() => void load()} /> : null}
      </section>

      <div class="columns">
        <section aria-labelledby="deployments-title" class="deployments card">
          <h2 id="deployments-title">Deployments</h2>
          <div class="filters">
            <label>
              Status{' '}
              <select
                value={status}
                onChange={(e) => {
                  setStatus(e.currentTarget.value as Status | '');
                  setCursors([undefined]);
                }}
              >
                <option value="">any</option>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Cluster{' '}
              <select
                value={clusterFilter}
                onChange={(e) => {
                  const v = e.currentTarget.value;
                  setClusterFilter(v === '' ? '' : Number(v));
                  setCursors([undefined]);
                }}
              >
                <option value="">any</option>
                {(clusters ?? []).map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Priority</th>
                  <th scope="col">Cluster</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Age</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {(page?.items ?? []).map((d) => (
                  <DeploymentRow
                    key={d.id}
                    d={d}
                    orgId={orgId}
                    cluster={
                      d.cluster_id === null
                        ? '—'
                        : (clusterName.get(d.cluster_id) ?? `#${d.cluster_id}`)
                    }
                    owner={owners.current.get(d.user_id) ?? `user ${d.user_id}`}
                  />
                ))}
              </tbody>
            </table>
            {page && page.items.length === 0 ? <p class="empty">No deployments match.</p> : null}
          </div>
          <div class="pager">
            <button
              type="button"
              disabled={cursors.length <= 1}
              onClick={() => setCursors((c) => c.slice(0, -1))}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={!page?.next_cursor}
              onClick={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor!])}
            >
              Next page
            </button>
          </div>
        </section>

        <aside class="side">
          {metrics ? <QueuePanel m={metrics} /> : null}
          {can.submit(role) ? (
            <SubmitForm orgId={orgId} clusters={clusters ?? []} onSubmitted={() => void load()} />
          ) : null}
          <LiveFeed events={feed} orgId={orgId} />
        </aside>
      </div>
    </div>
  );
}

function DeploymentRow(props: {
  d: Deployment;
  orgId: number;
  cluster: string;
  owner: string;
}): JSX.Element {
  const { d } = props;
  const why =
    d.status === 'pending'
      ? d.pending_reason?.message
      : d.status === 'failed'
        ? d.failure_reason
        : null;
  return (
    <tr data-deployment={d.id}>
      <td class="name">
        <Link to={`/orgs/${props.orgId}/deployments/${d.id}`}>{d.name}</Link>
      </td>
      <td>
        <StatusBadge status={d.status} />
        {d.preemption_count > 0 ? (
          <span class="evicted" title="times evicted">
            {' '}
            ↻{d.preemption_count}
          </span>
        ) : null}
      </td>
      <td class="num">{d.priority}</td>
      <td>{props.cluster}</td>
      <td>{props.owner}</td>
      <td>{age(d.created_at)}</td>
      <td class="why">{why ?? ''}</td>
    </tr>
  );
}

function ClusterCard(props: {
  cluster: Cluster;
  running: number;
  pending: number;
  admin: boolean;
  onChanged: () => void;
}): JSX.Element {
  const c = props.cluster;
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const remove = async (): Promise<void> => {
    try {
      await call(api.DELETE('/clusters/{id}', { params: { path: { id: c.id } } }));
      props.onChanged();
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
      setConfirmDelete(false);
    }
  };
  return (
    <article class="card cluster" aria-labelledby={`cluster-${c.id}`} data-cluster={c.id}>
      <h3 id={`cluster-${c.id}`}>{c.name}</h3>
      <Bar label="RAM" total={c.total_ram} free={c.available_ram} unit="GiB" />
      <Bar label="CPU" total={c.total_cpu} free={c.available_cpu} unit="cores" />
      <Bar label="GPU" total={c.total_gpu} free={c.available_gpu} unit="GPUs" />
      <p class="counts">
        <span>{props.running} running</span> · <span>{props.pending} pending</span>
      </p>
      <ErrorBanner problem={problem} />
      {props.admin ? (
        <div class="actions">
          <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            Resize
          </button>
          {confirmDelete ? (
            <>
              <button type="button" class="danger" onClick={() => void remove()}>
                Confirm delete
              </button>
              <button type="button" onClick={() => setConfirmDelete(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          )}
        </div>
      ) : null}
      {editing ? (
        <ResizeForm
          cluster={c}
          onDone={() => {
            setEditing(false);
            props.onChanged();
          }}
        />
      ) : null}
    </article>
  );
}

const num = (s: string): number | string =>
  s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s;
const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;

const TOTAL_LABEL = {
  total_ram: 'Total RAM (GiB)',
  total_cpu: 'Total CPU (cores)',
  total_gpu: 'Total GPU (devices)',
};

function ResizeForm({ cluster, onDone }: { cluster: Cluster; onDone: () => void }): JSX.Element {
  const [f, setF] = useState({
    name: cluster.name,
    total_ram: String(cluster.total_ram),
    total_cpu: String(cluster.total_cpu),
    total_gpu: String(cluster.total_gpu),
  });
  const [problem, setProblem] = useState<Problem | null>(null);
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const body = {
        name: f.name,
        total_ram: num(f.total_ram),
        total_cpu: num(f.total_cpu),
        total_gpu: num(f.total_gpu),
      } as Schemas['UpdateClusterDto'];
      await call(api.PATCH('/clusters/{id}', { params: { path: { id: cluster.id } }, body }));
      onDone();
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    }
  };
  const errs = fieldErrors(problem);
  const id = `resize-${cluster.id}`;
  return (
    <form class="mini" onSubmit={(e) => void save(e)} noValidate>
      <Field id={`${id}-name`} label="Name" error={errs.name}>
        {(a) => <input {...a} value={f.name} onInput={(e) => setF({ ...f, name: value(e) })} />}
      </Field>
      {(['total_ram', 'total_cpu', 'total_gpu'] as const).map((k) => (
        <Field key={k} id={`${id}-${k}`} label={TOTAL_LABEL[k]} error={errs[k]}>
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={f[k]}
              onInput={(e) => setF({ ...f, [k]: value(e) })}
            />
          )}
        </Field>
      ))}
      <ErrorBanner problem={problem && !problem.errors ? problem : null} />
      <button type="submit">Save</button>
    </form>
  );
}

function NewCluster({ orgId, onCreated }: { orgId: number; onCreated: () => void }): JSX.Element {
  const empty = { name: '', total_ram: '', total_cpu: '', total_gpu: '0' };
  const [f, setF] = useState(empty);
  const [problem, setProblem] = useState<Problem | null>(null);
  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const body = {
        name: f.name,
        organization_id: orgId,
        total_ram: num(f.total_ram),
        total_cpu: num(f.total_cpu),
        total_gpu: num(f.total_gpu),
      } as Schemas['CreateClusterDto'];
      await call(api.POST('/clusters', { body }));
      setF(empty);
      setProblem(null);
      onCreated();
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
    }
  };
  const errs = fieldErrors(problem);
  return (
    <details class="card new-cluster">
      <summary>Add a cluster</summary>
      <form class="row-form" onSubmit={(e) => void create(e)} noValidate>
        <Field id="cluster-name" label="Name" error={errs.name}>
          {(a) => <input {...a} value={f.name} onInput={(e) => setF({ ...f, name: value(e) })} />}
        </Field>
        <Field id="cluster-ram" label="RAM (GiB)" error={errs.total_ram}>
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={f.total_ram}
              onInput={(e) => setF({ ...f, total_ram: value(e) })}
            />
          )}
        </Field>
        <Field id="cluster-cpu" label="CPU (cores)" error={errs.total_cpu}>
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={f.total_cpu}
              onInput={(e) => setF({ ...f, total_cpu: value(e) })}
            />
          )}
        </Field>
        <Field id="cluster-gpu" label="GPU (devices)" error={errs.total_gpu}>
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={f.total_gpu}
              onInput={(e) => setF({ ...f, total_gpu: value(e) })}
            />
          )}
        </Field>
        <ErrorBanner problem={problem && !problem.errors ? problem : null} />
        <button type="submit">Create cluster</button>
      </form>
    </details>
  );
}

function QueuePanel({ m }: { m: Metrics }): JSX.Element {
  const w = m.wait_time_seconds;
  return (
    <section class="card queue" aria-labelledby="queue-title">
      <h2 id="queue-title">Queue</h2>
      <dl class="stats">
        {STATUSES.map((s) => (
          <div key={s}>
            <dt>{s}</dt>
            <dd data-count={s}>{m.counts_by_status[s]}</dd>
          </div>
        ))}
        <div>
          <dt>oldest wait</dt>
          <dd>{duration(m.oldest_pending_age_seconds)}</dd>
        </div>
        <div>
          <dt>wait p50 / p90 / p99</dt>
          <dd>
            {duration(w.p50)} / {duration(w.p90)} / {duration(w.p99)}
          </dd>
        </div>
        <div>
          <dt>evictions</dt>
          <dd>{m.preemptions_total}</dd>
        </div>
        <div>
          <dt>passes (last hour)</dt>
          <dd>{m.scheduler.passes_last_hour}</dd>
        </div>
        <div>
          <dt>last pass</dt>
          <dd>
            {m.scheduler.last_pass_at
              ? `${age(m.scheduler.last_pass_at)} ago, ${Math.round(m.scheduler.last_pass_duration_ms ?? 0)} ms, ${m.scheduler.last_pass_placements ?? 0} placed`
              : '—'}
          </dd>
        </div>
      </dl>
      <h3>Pending by priority</h3>
      {m.pending_by_priority.length === 0 ? (
        <p class="empty">Nothing waiting.</p>
      ) : (
        <ul class="prio">
          {m.pending_by_priority.map((p) => (
            <li key={p.priority}>
              priority <strong>{p.priority}</strong>: {p.count}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const VERB: Record<string, string> = {
  queued: 'queued',
  placed: 'placed',
  preempted: 'evicted',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

function LiveFeed({ events, orgId }: { events: StreamEvent[]; orgId: number }): JSX.Element {
  return (
    <section class="card feed" aria-labelledby="feed-title">
      <h2 id="feed-title">Live events</h2>
      {events.length === 0 ? <p class="empty">Events appear here as they happen.</p> : null}
      <ol aria-live="polite">
        {events.map((e) => (
          <li
            key={e.id}
            class={`ev ev-${e.type}`}
            data-event={e.type}
            data-deployment={e.deployment_id}
          >
            <time dateTime={e.created_at}>{time(e.created_at)}</time>{' '}
            <Link to={`/orgs/${orgId}/deployments/${e.deployment_id}`}>{e.deployment_name}</Link>{' '}
            <strong>{VERB[e.type] ?? e.type}</strong>
            {e.reason ? <span class="reason"> — {e.reason}</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
