-- CreateTable
CREATE TABLE "trs_webhook_messages" (
    "ce_id" TEXT NOT NULL,
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "request_id" TEXT,
    "outcome" TEXT NOT NULL,
    "received_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trs_webhook_messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "trs_webhook_messages_ce_id_key" ON "trs_webhook_messages"("ce_id");
