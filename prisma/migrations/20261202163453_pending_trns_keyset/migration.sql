-- CreateIndex
CREATE INDEX "trn_requests_state_submitted_at_id_idx" ON "trn_requests"("state", "submitted_at", "id");
