-- CreateEnum
CREATE TYPE "UpstreamWebhookState" AS ENUM ('pending', 'sent', 'failed');

-- CreateTable
CREATE TABLE "upstream_webhooks" (
    "id" BIGSERIAL NOT NULL,
    "event_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "trainee_id" UUID NOT NULL,
    "trainee_slug" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "state" "UpstreamWebhookState" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "sent_at" TIMESTAMP(3),

    CONSTRAINT "upstream_webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "upstream_webhooks_event_id_key" ON "upstream_webhooks"("event_id");

-- CreateIndex
CREATE INDEX "upstream_webhooks_state_trainee_id_id_idx" ON "upstream_webhooks"("state", "trainee_id", "id");

-- CreateIndex
CREATE INDEX "upstream_webhooks_state_sent_at_idx" ON "upstream_webhooks"("state", "sent_at");
