-- The create fast path's hold and facts in one round trip (src/scheduler/fast-path/create-fast-path.ts).
-- First the shared hold on the organisation's pass lock (passes take it exclusively), without
-- waiting: while a pass runs or waits for it, no row is returned and the create goes to the pass
-- (a create's transaction never waits for a pass while holding a pooled connection). Then, in a
-- statement of its own, so with a snapshot taken after the hold (READ COMMITTED, volatile
-- function), everything the decision needs. A function also keeps its plan for the session: the
-- same query sent as raw SQL was planned again on every create (about 2.5 ms of the 5 ms it cost).
-- The decision itself stays in TypeScript (decide.ts), next to the planner it must agree with.
CREATE FUNCTION create_fast_path_facts(
  p_lock_class int, p_org int, p_priority int, p_ram int, p_cpu int, p_gpu int,
  p_now_ms bigint, p_aging_ms bigint, p_starvation_ms bigint
) RETURNS TABLE (
  ahead boolean, other_may_run boolean, starving boolean, deployments int,
  demand_ram int, demand_cpu int, demand_gpu int, clusters json
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock_shared(p_lock_class, p_org) THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH waiting AS (
    SELECT d.priority,
           GREATEST(0, p_now_ms - (EXTRACT(EPOCH FROM d.created_at) * 1000)::bigint) AS waited,
           d.required_ram_milli AS ram, d.required_cpu_milli AS cpu, d.required_gpu_milli AS gpu,
           CASE WHEN d.pinned THEN d.cluster_id END AS pin,
           NOT EXISTS (SELECT 1 FROM deployment_dependencies dd
                         JOIN deployments dep ON dep.id = dd.depends_on_id
                        WHERE dd.deployment_id = d.id AND dep.status <> 'completed') AS ready
      FROM deployments d
     WHERE d.organization_id = p_org AND d.status = 'pending'
  )
  SELECT EXISTS (SELECT 1 FROM waiting w
                  WHERE w.priority + CASE WHEN p_aging_ms > 0 THEN w.waited / p_aging_ms ELSE 0 END
                        >= p_priority),
         EXISTS (SELECT 1 FROM waiting w
                  WHERE w.ready
                    AND (w.priority > (SELECT min(r.priority) FROM deployments r
                                        WHERE r.organization_id = p_org AND r.status = 'running')
                         OR EXISTS (SELECT 1 FROM clusters c
                                     WHERE c.organization_id = p_org
                                       AND (w.pin IS NULL OR c.id = w.pin)
                                       AND c.available_ram_milli >= w.ram
                                       AND c.available_cpu_milli >= w.cpu
                                       AND c.available_gpu_milli >= w.gpu))),
         (p_starvation_ms > 0 AND EXISTS (SELECT 1 FROM waiting w WHERE w.waited > p_starvation_ms)),
         1 + (SELECT COALESCE(sum(k.pending + k.running), 0)::int FROM deployment_counts k
               WHERE k.organization_id = p_org),
         p_ram + (SELECT COALESCE(sum(w.ram), 0)::int FROM waiting w WHERE w.ready),
         p_cpu + (SELECT COALESCE(sum(w.cpu), 0)::int FROM waiting w WHERE w.ready),
         p_gpu + (SELECT COALESCE(sum(w.gpu), 0)::int FROM waiting w WHERE w.ready),
         (SELECT COALESCE(json_agg(json_build_object(
                   'id', c.id, 'tr', c.total_ram_milli, 'tc', c.total_cpu_milli,
                   'tg', c.total_gpu_milli, 'ar', c.available_ram_milli,
                   'ac', c.available_cpu_milli, 'ag', c.available_gpu_milli) ORDER BY c.id),
                 '[]'::json)
            FROM clusters c WHERE c.organization_id = p_org);
END
$$;
