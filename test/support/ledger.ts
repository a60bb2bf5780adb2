import { Client } from 'pg';

export interface LedgerViolation {
  cluster_id: number;
  resource: string;
  total: number;
  available: number;
  running_sum: number;
}

/**
 * Contract §4.1 checked in SQL: for every cluster and resource,
 * available = total − Σ required of the running deployments on it, and 0 ≤ available ≤ total.
 * Returns the violations (empty when the books balance).
 */
export async function ledgerViolations(client: Client): Promise<LedgerViolation[]> {
  const { rows } = await client.query<LedgerViolation>(`
    WITH used AS (
      SELECT c.id,
             c.total_ram_milli, c.total_cpu_milli, c.total_gpu_milli,
             c.available_ram_milli, c.available_cpu_milli, c.available_gpu_milli,
             COALESCE(sum(d.required_ram_milli), 0)::int AS ram,
             COALESCE(sum(d.required_cpu_milli), 0)::int AS cpu,
             COALESCE(sum(d.required_gpu_milli), 0)::int AS gpu
      FROM clusters c
      LEFT JOIN deployments d ON d.cluster_id = c.id AND d.status = 'running'
      GROUP BY c.id
    )
    SELECT id AS cluster_id, r.resource, r.total, r.available, r.running_sum
    FROM used, LATERAL (VALUES
      ('ram', total_ram_milli, available_ram_milli, ram),
      ('cpu', total_cpu_milli, available_cpu_milli, cpu),
      ('gpu', total_gpu_milli, available_gpu_milli, gpu)
    ) AS r(resource, total, available, running_sum)
    WHERE r.available <> r.total - r.running_sum OR r.available < 0 OR r.available > r.total
    ORDER BY id, r.resource`);
  return rows;
}

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Scheduler passes recorded for an organisation (scheduler_passes rows). */
export async function recordedPasses(client: Client, organizationId: number): Promise<number> {
  const r = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM scheduler_passes WHERE organization_id = $1',
    [organizationId],
  );
  return r.rows[0]!.n;
}
