-- CreateEnum
CREATE TYPE "member_role" AS ENUM ('admin', 'developer', 'viewer');

-- CreateEnum
CREATE TYPE "deployment_status" AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "users" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "hashed_password" TEXT NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "organizations" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "invite_code" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "organization_members" (
    "id" SERIAL NOT NULL,
    "organization_id" INTEGER NOT NULL,
    "user_id" INTEGER NOT NULL,
    "role" "member_role" NOT NULL DEFAULT 'developer',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "organization_members_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "clusters" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "organization_id" INTEGER NOT NULL,
    "total_ram_milli" INTEGER NOT NULL,
    "total_cpu_milli" INTEGER NOT NULL,
    "total_gpu_milli" INTEGER NOT NULL,
    "available_ram_milli" INTEGER NOT NULL,
    "available_cpu_milli" INTEGER NOT NULL,
    "available_gpu_milli" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "clusters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployments" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "docker_image" TEXT NOT NULL,
    "user_id" INTEGER NOT NULL,
    "organization_id" INTEGER NOT NULL,
    "cluster_id" INTEGER,
    "pinned" BOOLEAN NOT NULL DEFAULT false,
    "status" "deployment_status" NOT NULL DEFAULT 'pending',
    "priority" INTEGER NOT NULL DEFAULT 0,
    "required_ram_milli" INTEGER NOT NULL,
    "required_cpu_milli" INTEGER NOT NULL,
    "required_gpu_milli" INTEGER NOT NULL DEFAULT 0,
    "preemption_count" INTEGER NOT NULL DEFAULT 0,
    "pending_code" TEXT,
    "pending_reason" TEXT,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "first_started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "deployments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment_dependencies" (
    "deployment_id" INTEGER NOT NULL,
    "depends_on_id" INTEGER NOT NULL,

    CONSTRAINT "deployment_dependencies_pkey" PRIMARY KEY ("deployment_id","depends_on_id")
);

-- CreateTable
CREATE TABLE "deployment_events" (
    "id" SERIAL NOT NULL,
    "deployment_id" INTEGER NOT NULL,
    "organization_id" INTEGER NOT NULL,
    "cluster_id" INTEGER,
    "type" TEXT NOT NULL,
    "from_status" "deployment_status",
    "to_status" "deployment_status" NOT NULL,
    "actor" TEXT NOT NULL,
    "actor_user_id" INTEGER,
    "code" TEXT,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scheduler_passes" (
    "id" SERIAL NOT NULL,
    "organization_id" INTEGER NOT NULL,
    "trigger" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "placements" INTEGER NOT NULL DEFAULT 0,
    "preemptions" INTEGER NOT NULL DEFAULT 0,
    "failures" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "scheduler_passes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE UNIQUE INDEX "organizations_name_key" ON "organizations"("name");

-- CreateIndex
CREATE UNIQUE INDEX "organizations_invite_code_key" ON "organizations"("invite_code");

-- CreateIndex
CREATE INDEX "organization_members_user_id_idx" ON "organization_members"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "organization_members_organization_id_user_id_key" ON "organization_members"("organization_id", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "clusters_organization_id_name_key" ON "clusters"("organization_id", "name");

-- CreateIndex
CREATE INDEX "deployments_organization_id_status_priority_created_at_idx" ON "deployments"("organization_id", "status", "priority" DESC, "created_at");

-- CreateIndex
CREATE INDEX "deployments_cluster_id_status_idx" ON "deployments"("cluster_id", "status");

-- CreateIndex
CREATE INDEX "deployments_user_id_idx" ON "deployments"("user_id");

-- CreateIndex
CREATE INDEX "deployments_status_first_started_at_idx" ON "deployments"("status", "first_started_at");

-- CreateIndex
CREATE INDEX "deployment_dependencies_depends_on_id_idx" ON "deployment_dependencies"("depends_on_id");

-- CreateIndex
CREATE INDEX "deployment_events_deployment_id_id_idx" ON "deployment_events"("deployment_id", "id");

-- CreateIndex
CREATE INDEX "deployment_events_organization_id_id_idx" ON "deployment_events"("organization_id", "id");

-- CreateIndex
CREATE INDEX "scheduler_passes_organization_id_started_at_idx" ON "scheduler_passes"("organization_id", "started_at" DESC);

-- CreateIndex
CREATE INDEX "scheduler_passes_started_at_idx" ON "scheduler_passes"("started_at" DESC);

-- AddForeignKey
ALTER TABLE "organization_members" ADD CONSTRAINT "organization_members_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "organization_members" ADD CONSTRAINT "organization_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment_dependencies" ADD CONSTRAINT "deployment_dependencies_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment_dependencies" ADD CONSTRAINT "deployment_dependencies_depends_on_id_fkey" FOREIGN KEY ("depends_on_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment_events" ADD CONSTRAINT "deployment_events_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: invariants Prisma's schema language cannot express. Capacity accounting
-- (contract §4.1) is enforced by the database as a last line of defence.
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_totals_check"
    CHECK ("total_ram_milli" > 0 AND "total_cpu_milli" > 0 AND "total_gpu_milli" >= 0);
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_available_ram_check"
    CHECK ("available_ram_milli" BETWEEN 0 AND "total_ram_milli");
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_available_cpu_check"
    CHECK ("available_cpu_milli" BETWEEN 0 AND "total_cpu_milli");
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_available_gpu_check"
    CHECK ("available_gpu_milli" BETWEEN 0 AND "total_gpu_milli");
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_requirements_check"
    CHECK ("required_ram_milli" >= 0 AND "required_cpu_milli" >= 0 AND "required_gpu_milli" >= 0);
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_priority_check"
    CHECK ("priority" BETWEEN -1000 AND 1000);
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_running_placed_check"
    CHECK ("status" <> 'running' OR ("cluster_id" IS NOT NULL AND "started_at" IS NOT NULL));
ALTER TABLE "deployment_dependencies" ADD CONSTRAINT "deployment_dependencies_not_self_check"
    CHECK ("deployment_id" <> "depends_on_id");
