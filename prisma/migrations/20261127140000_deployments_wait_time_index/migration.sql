-- Queue metrics: wait-time percentiles read the deployments of some organizations first started
-- in the last hour; without this index that is every deployment those organizations ever had.
-- CreateIndex
CREATE INDEX "deployments_organization_id_first_started_at_idx" ON "deployments"("organization_id", "first_started_at");
