-- CreateTable
CREATE TABLE "upstream_webhook_settings" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "enabled" BOOLEAN NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upstream_webhook_settings_pkey" PRIMARY KEY ("id")
);
