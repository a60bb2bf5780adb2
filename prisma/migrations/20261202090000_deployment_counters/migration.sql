-- Queue metrics without scanning an organisation's history (issue 9).
--
-- deployment_counts: per organisation and cluster (cluster_key 0 = no cluster), how many
-- deployments are in each status and their total preemption count. Kept by statement-level
-- triggers on deployments in the same transaction as the change, so every reader sees counts that
-- match the rows it can see. Readers sum the rows of a key. A column per status (not a row per
-- status): a status change locks one counter row. Each key is striped 16 ways by the writing
-- connection (pg_backend_pid() % 16): concurrent creates of one organisation would otherwise all
-- queue on one hot row, each until its transaction commits. Statements lock rows in key order
-- (fewer deadlocks; run-tx and the pass retry the rest).
--
-- deployment_wait_samples: per organisation and stripe (the writer's pg_backend_pid() % 16, as
-- above), a ring of the last 256 first starts (slot = sequence mod 256): at most 4,096 samples per
-- organisation, the bounded structure the wait-time percentiles are read from.

-- CreateTable
CREATE TABLE "deployment_counts" (
    "organization_id" INTEGER NOT NULL,
    "cluster_key" INTEGER NOT NULL,
    "stripe" INTEGER NOT NULL,
    "pending" INTEGER NOT NULL DEFAULT 0,
    "running" INTEGER NOT NULL DEFAULT 0,
    "completed" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "preemptions" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "deployment_counts_pkey" PRIMARY KEY ("organization_id","cluster_key","stripe")
);

-- CreateTable
CREATE TABLE "deployment_wait_seq" (
    "organization_id" INTEGER NOT NULL,
    "stripe" INTEGER NOT NULL,
    "next" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "deployment_wait_seq_pkey" PRIMARY KEY ("organization_id","stripe")
);

-- CreateTable
CREATE TABLE "deployment_wait_samples" (
    "organization_id" INTEGER NOT NULL,
    "stripe" INTEGER NOT NULL,
    "slot" INTEGER NOT NULL,
    "cluster_id" INTEGER,
    "wait_seconds" DOUBLE PRECISION NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "deployment_wait_samples_pkey" PRIMARY KEY ("organization_id","stripe","slot")
);

-- Applies a statement's inserted/updated/deleted rows to the counters (and the wait ring).
CREATE FUNCTION deployment_counts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    WITH d AS (
      SELECT organization_id AS org, COALESCE(cluster_id, 0) AS key, status, preemption_count AS pc, 1 AS sign FROM new_rows
    ), g AS (
      SELECT org, key,
             COALESCE(sum(sign) FILTER (WHERE status = 'pending'), 0) AS pending,
             COALESCE(sum(sign) FILTER (WHERE status = 'running'), 0) AS running,
             COALESCE(sum(sign) FILTER (WHERE status = 'completed'), 0) AS completed,
             COALESCE(sum(sign) FILTER (WHERE status = 'failed'), 0) AS failed,
             COALESCE(sum(sign) FILTER (WHERE status = 'cancelled'), 0) AS cancelled,
             COALESCE(sum(sign * pc), 0) AS preemptions
        FROM d GROUP BY org, key
    )
    INSERT INTO deployment_counts AS c
           (organization_id, cluster_key, stripe, pending, running, completed, failed, cancelled,
            preemptions)
    SELECT org, key, pg_backend_pid() % 16, pending, running, completed, failed, cancelled,
           preemptions
      FROM g
     WHERE (pending, running, completed, failed, cancelled, preemptions) <> (0, 0, 0, 0, 0, 0)
     ORDER BY org, key
    ON CONFLICT (organization_id, cluster_key, stripe) DO UPDATE
       SET pending = c.pending + EXCLUDED.pending, running = c.running + EXCLUDED.running,
           completed = c.completed + EXCLUDED.completed, failed = c.failed + EXCLUDED.failed,
           cancelled = c.cancelled + EXCLUDED.cancelled,
           preemptions = c.preemptions + EXCLUDED.preemptions;
    WITH s AS (
      SELECT n.organization_id AS org, n.cluster_id,
             EXTRACT(EPOCH FROM n.first_started_at - n.created_at)::float8 AS w,
             n.first_started_at AS at,
             row_number() OVER (PARTITION BY n.organization_id ORDER BY n.first_started_at, n.id) AS rn,
             count(*) OVER (PARTITION BY n.organization_id) AS cnt
        FROM new_rows n WHERE n.first_started_at IS NOT NULL
    ), seq AS (
      INSERT INTO deployment_wait_seq AS q (organization_id, stripe, next)
      SELECT org, pg_backend_pid() % 16, max(cnt) FROM s GROUP BY org ORDER BY org
      ON CONFLICT (organization_id, stripe) DO UPDATE SET next = q.next + EXCLUDED.next
      RETURNING organization_id, next
    )
    INSERT INTO deployment_wait_samples AS r
           (organization_id, stripe, slot, cluster_id, wait_seconds, started_at)
    SELECT s.org, pg_backend_pid() % 16, ((seq.next - s.cnt + s.rn - 1) % 256)::int, s.cluster_id,
           s.w, s.at
      FROM s JOIN seq ON seq.organization_id = s.org
     WHERE s.rn > s.cnt - 256
     ORDER BY 1, 3
    ON CONFLICT (organization_id, stripe, slot) DO UPDATE
       SET cluster_id = EXCLUDED.cluster_id, wait_seconds = EXCLUDED.wait_seconds,
           started_at = EXCLUDED.started_at;
  ELSIF TG_OP = 'UPDATE' THEN
    WITH d AS (
      SELECT organization_id AS org, COALESCE(cluster_id, 0) AS key, status, preemption_count AS pc, 1 AS sign FROM new_rows
      UNION ALL
      SELECT organization_id AS org, COALESCE(cluster_id, 0) AS key, status, preemption_count AS pc, -1 AS sign FROM old_rows
    ), g AS (
      SELECT org, key,
             COALESCE(sum(sign) FILTER (WHERE status = 'pending'), 0) AS pending,
             COALESCE(sum(sign) FILTER (WHERE status = 'running'), 0) AS running,
             COALESCE(sum(sign) FILTER (WHERE status = 'completed'), 0) AS completed,
             COALESCE(sum(sign) FILTER (WHERE status = 'failed'), 0) AS failed,
             COALESCE(sum(sign) FILTER (WHERE status = 'cancelled'), 0) AS cancelled,
             COALESCE(sum(sign * pc), 0) AS preemptions
        FROM d GROUP BY org, key
    )
    INSERT INTO deployment_counts AS c
           (organization_id, cluster_key, stripe, pending, running, completed, failed, cancelled,
            preemptions)
    SELECT org, key, pg_backend_pid() % 16, pending, running, completed, failed, cancelled,
           preemptions
      FROM g
     WHERE (pending, running, completed, failed, cancelled, preemptions) <> (0, 0, 0, 0, 0, 0)
     ORDER BY org, key
    ON CONFLICT (organization_id, cluster_key, stripe) DO UPDATE
       SET pending = c.pending + EXCLUDED.pending, running = c.running + EXCLUDED.running,
           completed = c.completed + EXCLUDED.completed, failed = c.failed + EXCLUDED.failed,
           cancelled = c.cancelled + EXCLUDED.cancelled,
           preemptions = c.preemptions + EXCLUDED.preemptions;
    WITH s AS (
      SELECT n.organization_id AS org, n.cluster_id,
             EXTRACT(EPOCH FROM n.first_started_at - n.created_at)::float8 AS w,
             n.first_started_at AS at,
             row_number() OVER (PARTITION BY n.organization_id ORDER BY n.first_started_at, n.id) AS rn,
             count(*) OVER (PARTITION BY n.organization_id) AS cnt
        FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.first_started_at IS NULL AND n.first_started_at IS NOT NULL
    ), seq AS (
      INSERT INTO deployment_wait_seq AS q (organization_id, stripe, next)
      SELECT org, pg_backend_pid() % 16, max(cnt) FROM s GROUP BY org ORDER BY org
      ON CONFLICT (organization_id, stripe) DO UPDATE SET next = q.next + EXCLUDED.next
      RETURNING organization_id, next
    )
    INSERT INTO deployment_wait_samples AS r
           (organization_id, stripe, slot, cluster_id, wait_seconds, started_at)
    SELECT s.org, pg_backend_pid() % 16, ((seq.next - s.cnt + s.rn - 1) % 256)::int, s.cluster_id,
           s.w, s.at
      FROM s JOIN seq ON seq.organization_id = s.org
     WHERE s.rn > s.cnt - 256
     ORDER BY 1, 3
    ON CONFLICT (organization_id, stripe, slot) DO UPDATE
       SET cluster_id = EXCLUDED.cluster_id, wait_seconds = EXCLUDED.wait_seconds,
           started_at = EXCLUDED.started_at;
  ELSE
    WITH d AS (
      SELECT organization_id AS org, COALESCE(cluster_id, 0) AS key, status, preemption_count AS pc, -1 AS sign FROM old_rows
    ), g AS (
      SELECT org, key,
             COALESCE(sum(sign) FILTER (WHERE status = 'pending'), 0) AS pending,
             COALESCE(sum(sign) FILTER (WHERE status = 'running'), 0) AS running,
             COALESCE(sum(sign) FILTER (WHERE status = 'completed'), 0) AS completed,
             COALESCE(sum(sign) FILTER (WHERE status = 'failed'), 0) AS failed,
             COALESCE(sum(sign) FILTER (WHERE status = 'cancelled'), 0) AS cancelled,
             COALESCE(sum(sign * pc), 0) AS preemptions
        FROM d GROUP BY org, key
    )
    INSERT INTO deployment_counts AS c
           (organization_id, cluster_key, stripe, pending, running, completed, failed, cancelled,
            preemptions)
    SELECT org, key, pg_backend_pid() % 16, pending, running, completed, failed, cancelled,
           preemptions
      FROM g
     WHERE (pending, running, completed, failed, cancelled, preemptions) <> (0, 0, 0, 0, 0, 0)
     ORDER BY org, key
    ON CONFLICT (organization_id, cluster_key, stripe) DO UPDATE
       SET pending = c.pending + EXCLUDED.pending, running = c.running + EXCLUDED.running,
           completed = c.completed + EXCLUDED.completed, failed = c.failed + EXCLUDED.failed,
           cancelled = c.cancelled + EXCLUDED.cancelled,
           preemptions = c.preemptions + EXCLUDED.preemptions;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER deployment_counts_insert AFTER INSERT ON deployments
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deployment_counts_sync();
CREATE TRIGGER deployment_counts_update AFTER UPDATE ON deployments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION deployment_counts_sync();
CREATE TRIGGER deployment_counts_delete AFTER DELETE ON deployments
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deployment_counts_sync();

-- What already exists.
INSERT INTO deployment_counts (organization_id, cluster_key, stripe, pending, running, completed,
                               failed, cancelled, preemptions)
SELECT organization_id, COALESCE(cluster_id, 0), 0,
       count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'running'),
       count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'cancelled'), COALESCE(sum(preemption_count), 0)
  FROM deployments GROUP BY 1, 2;

INSERT INTO deployment_wait_seq (organization_id, stripe, next)
SELECT organization_id, 0, count(*) FROM deployments WHERE first_started_at IS NOT NULL GROUP BY 1;

INSERT INTO deployment_wait_samples (organization_id, stripe, slot, cluster_id, wait_seconds,
                                     started_at)
SELECT organization_id, 0, ((cnt - rn) % 256)::int, cluster_id, w, first_started_at
  FROM (SELECT organization_id, cluster_id, first_started_at,
               EXTRACT(EPOCH FROM first_started_at - created_at)::float8 AS w,
               row_number() OVER (PARTITION BY organization_id ORDER BY first_started_at DESC, id DESC) AS rn,
               count(*) OVER (PARTITION BY organization_id) AS cnt
          FROM deployments WHERE first_started_at IS NOT NULL) x
 WHERE rn <= 256;
