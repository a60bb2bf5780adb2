import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import {
  api,
  auth,
  call,
  isProblem,
  toProblem,
  type Cluster,
  type Problem,
  type Schemas,
} from '../api/client';
import { Link } from '../router';
import { ErrorBanner, Field, fieldErrors } from '../ui';

/** `POST /deployments/plan` (the dry run), as the contract describes it. */
interface Plan {
  would_run: boolean;
  cluster_id: number | null;
  preempts: { id: number; name: string; priority: number }[];
  pending_reason: { code: string; message: string } | string | null;
  queue_position: number | null;
}

type PlanResult =
  { kind: 'plan'; plan: Plan } | { kind: 'unavailable' } | { kind: 'error'; problem: Problem };

/**
 * The dry run is called with plain fetch: servers without it answer 404/405, and the form
 * then just says the preview is not available there.
 */
async function dryRun(body: unknown): Promise<PlanResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  let res: Response;
  try {
    res = await fetch('/deployments/plan', { method: 'POST', headers, body: JSON.stringify(body) });
  } catch {
    return { kind: 'error', problem: toProblem(undefined) };
  }
  if (res.status === 404 || res.status === 405) {
    const p = (await res.json().catch(() => null)) as { code?: string } | null;
    // A 404 about the organisation or a cluster is a real answer, not a missing route.
    if (res.status === 405 || !p?.code || p.code === 'route/not_found') {
      return { kind: 'unavailable' };
    }
    return { kind: 'error', problem: toProblem(p, res) };
  }
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) return { kind: 'error', problem: toProblem(data, res) };
  return { kind: 'plan', plan: data as Plan };
}

const num = (s: string): number | string =>
  s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s;
const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;

const EMPTY = {
  name: '',
  docker_image: '',
  priority: '0',
  required_ram: '',
  required_cpu: '',
  required_gpu: '0',
  cluster_id: '',
  depends_on: '',
};

export function SubmitForm(props: {
  orgId: number;
  clusters: Cluster[];
  onSubmitted: () => void;
}): JSX.Element {
  const [f, setF] = useState(EMPTY);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [plan, setPlan] = useState<PlanResult | null>(null);
  const [created, setCreated] = useState<Schemas['DeploymentDto'] | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof EMPTY) => (e: Event) => {
    setF({ ...f, [k]: value(e) });
    setPlan(null);
  };

  const body = (): Schemas['CreateDeploymentDto'] => {
    const deps = f.depends_on.trim();
    return {
      name: f.name,
      docker_image: f.docker_image,
      priority: num(f.priority),
      required_ram: num(f.required_ram),
      required_cpu: num(f.required_cpu),
      required_gpu: num(f.required_gpu),
      ...(f.cluster_id ? { cluster_id: Number(f.cluster_id) } : { organization_id: props.orgId }),
      ...(deps
        ? {
            depends_on: deps
              .split(/[\s,]+/)
              .filter(Boolean)
              .map(num),
          }
        : {}),
    } as Schemas['CreateDeploymentDto'];
  };

  const preview = async (): Promise<void> => {
    setBusy(true);
    const r = await dryRun(body());
    setBusy(false);
    setPlan(r);
    setProblem(r.kind === 'error' ? r.problem : null);
  };

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const d = await call(api.POST('/deployments', { body: body() }));
      setCreated(d);
      setF({ ...EMPTY, priority: f.priority, cluster_id: f.cluster_id });
      setPlan(null);
      props.onSubmitted();
    } catch (err) {
      setProblem(isProblem(err) ? err : toProblem(err));
      setCreated(null);
    } finally {
      setBusy(false);
    }
  };

  const errs = fieldErrors(problem);
  const clusterName = (id: number | null): string =>
    id === null ? 'a cluster' : (props.clusters.find((c) => c.id === id)?.name ?? `cluster #${id}`);
  return (
    <section class="card submit" aria-labelledby="submit-title">
      <h2 id="submit-title">Submit a deployment</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field id="dep-name" label="Name" error={errs.name}>
          {(a) => <input {...a} value={f.name} onInput={set('name')} />}
        </Field>
        <Field
          id="dep-image"
          label="Docker image"
          error={errs.docker_image}
          hint="name[:tag][@digest]"
        >
          {(a) => (
            <input
              {...a}
              value={f.docker_image}
              onInput={set('docker_image')}
              placeholder="nginx:1.27"
            />
          )}
        </Field>
        <div class="grid3">
          <Field id="dep-ram" label="RAM (GiB)" error={errs.required_ram}>
            {(a) => (
              <input
                {...a}
                inputMode="decimal"
                value={f.required_ram}
                onInput={set('required_ram')}
              />
            )}
          </Field>
          <Field id="dep-cpu" label="CPU (cores)" error={errs.required_cpu}>
            {(a) => (
              <input
                {...a}
                inputMode="decimal"
                value={f.required_cpu}
                onInput={set('required_cpu')}
              />
            )}
          </Field>
          <Field id="dep-gpu" label="GPU" error={errs.required_gpu}>
            {(a) => (
              <input
                {...a}
                inputMode="decimal"
                value={f.required_gpu}
                onInput={set('required_gpu')}
              />
            )}
          </Field>
        </div>
        <div class="grid2">
          <Field id="dep-priority" label="Priority" error={errs.priority} hint="−1000…1000">
            {(a) => (
              <input {...a} inputMode="numeric" value={f.priority} onInput={set('priority')} />
            )}
          </Field>
          <Field id="dep-cluster" label="Cluster" error={errs.cluster_id ?? errs.organization_id}>
            {(a) => (
              <select {...a} value={f.cluster_id} onChange={set('cluster_id')}>
                <option value="">Scheduler picks</option>
                {props.clusters.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field
          id="dep-depends"
          label="Depends on (ids)"
          error={errs.depends_on}
          hint="comma separated, optional"
        >
          {(a) => <input {...a} value={f.depends_on} onInput={set('depends_on')} />}
        </Field>
        <ErrorBanner problem={problem && !problem.errors?.length ? problem : null} />
        {plan?.kind === 'plan' ? <PlanView plan={plan.plan} clusterName={clusterName} /> : null}
        {plan?.kind === 'unavailable' ? (
          <p class="plan muted" role="status">
            This server has no dry run (POST /deployments/plan).
          </p>
        ) : null}
        <div class="actions">
          <button type="button" disabled={busy} onClick={() => void preview()}>
            Preview
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Submit
          </button>
        </div>
        {created ? (
          <p class="ok" role="status">
            Submitted{' '}
            <Link to={`/orgs/${props.orgId}/deployments/${created.id}`}>{created.name}</Link>:{' '}
            {created.status}
          </p>
        ) : null}
      </form>
    </section>
  );
}

function PlanView({
  plan,
  clusterName,
}: {
  plan: Plan;
  clusterName: (id: number | null) => string;
}): JSX.Element {
  const reason =
    typeof plan.pending_reason === 'string' ? plan.pending_reason : plan.pending_reason?.message;
  return (
    <div class="plan" role="status" data-plan={plan.would_run ? 'runs' : 'waits'}>
      {plan.would_run ? (
        <p>
          Would run now on <strong>{clusterName(plan.cluster_id)}</strong>.
        </p>
      ) : (
        <p>
          Would wait{plan.queue_position ? ` (position ${plan.queue_position} in line)` : ''}
          {reason ? `: ${reason}` : '.'}
        </p>
      )}
      {plan.preempts.length > 0 ? (
        <p>
          Would evict:{' '}
          {plan.preempts.map((p, i) => (
            <span key={p.id}>
              {i > 0 ? ', ' : ''}
              {p.name} (priority {p.priority})
            </span>
          ))}
        </p>
      ) : null}
    </div>
  );
}
