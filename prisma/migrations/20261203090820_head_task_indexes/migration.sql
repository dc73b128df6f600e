-- CreateIndex
CREATE INDEX "sync_tasks_trainee_id_phase_id_idx" ON "sync_tasks"("trainee_id", "phase", "id");

-- CreateIndex
CREATE INDEX "sync_tasks_state_id_idx" ON "sync_tasks"("state", "id");
