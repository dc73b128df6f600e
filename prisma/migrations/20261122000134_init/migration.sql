-- CreateEnum
CREATE TYPE "TraineeState" AS ENUM ('draft', 'submitted_for_trn', 'trn_received', 'recommended_for_award', 'withdrawn', 'deferred', 'awarded');

-- CreateEnum
CREATE TYPE "TrnRequestState" AS ENUM ('requested', 'pending', 'received', 'failed', 'timed_out');

-- CreateEnum
CREATE TYPE "SyncTaskKind" AS ENUM ('register_for_trn', 'poll_trn', 'update_trainee', 'withdraw_trainee', 'award_trainee');

-- CreateEnum
CREATE TYPE "SyncTaskState" AS ENUM ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "AlertState" AS ENUM ('pending', 'queued', 'sent');

-- CreateTable
CREATE TABLE "trainees" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "trn" TEXT,
    "state" "TraineeState" NOT NULL,
    "first_names" TEXT NOT NULL,
    "middle_names" TEXT,
    "last_name" TEXT NOT NULL,
    "date_of_birth" DATE NOT NULL,
    "sex" TEXT,
    "email" TEXT,
    "training_route" TEXT,
    "provider_ukprn" TEXT,
    "provider_name" TEXT,
    "itt_start_date" DATE,
    "itt_end_date" DATE,
    "trainee_start_date" DATE,
    "study_mode" TEXT,
    "course_subjects" TEXT[],
    "course_min_age" INTEGER,
    "course_max_age" INTEGER,
    "itt_qualification_aim" TEXT,
    "outcome_date" DATE,
    "withdraw_date" DATE,
    "document_hash" TEXT NOT NULL,
    "submitted_for_trn_at" TIMESTAMP(3),
    "trn_received_at" TIMESTAMP(3),
    "recommended_for_award_at" TIMESTAMP(3),
    "awarded_at" DATE,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "trainees_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "trn_requests" (
    "id" UUID NOT NULL,
    "trainee_id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "active_trainee_id" UUID,
    "state" "TrnRequestState" NOT NULL,
    "submitted_at" TIMESTAMP(3) NOT NULL,
    "deadline_at" TIMESTAMP(3) NOT NULL,
    "poll_count" INTEGER NOT NULL DEFAULT 0,
    "next_poll_at" TIMESTAMP(3),
    "last_polled_at" TIMESTAMP(3),
    "trn" TEXT,
    "last_response" JSONB,
    "timed_out_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "trn_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_events" (
    "id" BIGSERIAL NOT NULL,
    "trainee_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "job_name" TEXT,
    "job_id" TEXT,
    "task_id" BIGINT,
    "error_class" TEXT,
    "http_status" INTEGER,
    "error_code" INTEGER,
    "message" TEXT,
    "details" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sync_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_tasks" (
    "id" BIGSERIAL NOT NULL,
    "trainee_id" UUID NOT NULL,
    "kind" "SyncTaskKind" NOT NULL,
    "phase" INTEGER NOT NULL,
    "state" "SyncTaskState" NOT NULL DEFAULT 'pending',
    "trn_request_id" UUID,
    "available_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error_class" TEXT,
    "http_status" INTEGER,
    "error_code" INTEGER,
    "error_message" TEXT,
    "failed_at" TIMESTAMP(3),
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "sync_tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sent_payloads" (
    "trainee_id" UUID NOT NULL,
    "endpoint" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "accepted_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "sent_payloads_pkey" PRIMARY KEY ("trainee_id","endpoint")
);

-- CreateTable
CREATE TABLE "alerts" (
    "id" BIGSERIAL NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "trainee_id" UUID,
    "text" TEXT NOT NULL,
    "details" JSONB,
    "state" "AlertState" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "sent_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "alerts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "trainees_slug_key" ON "trainees"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "trainees_trn_key" ON "trainees"("trn");

-- CreateIndex
CREATE INDEX "trainees_state_idx" ON "trainees"("state");

-- CreateIndex
CREATE INDEX "trainees_last_name_idx" ON "trainees"("last_name");

-- CreateIndex
CREATE UNIQUE INDEX "trn_requests_request_id_key" ON "trn_requests"("request_id");

-- CreateIndex
CREATE UNIQUE INDEX "trn_requests_active_trainee_id_key" ON "trn_requests"("active_trainee_id");

-- CreateIndex
CREATE INDEX "trn_requests_trainee_id_idx" ON "trn_requests"("trainee_id");

-- CreateIndex
CREATE INDEX "trn_requests_state_deadline_at_idx" ON "trn_requests"("state", "deadline_at");

-- CreateIndex
CREATE INDEX "sync_events_trainee_id_id_idx" ON "sync_events"("trainee_id", "id");

-- CreateIndex
CREATE INDEX "sync_tasks_trainee_id_state_idx" ON "sync_tasks"("trainee_id", "state");

-- CreateIndex
CREATE INDEX "sync_tasks_state_updated_at_idx" ON "sync_tasks"("state", "updated_at");

-- CreateIndex
CREATE INDEX "sync_tasks_state_error_class_idx" ON "sync_tasks"("state", "error_class");

-- CreateIndex
CREATE INDEX "sync_tasks_state_kind_idx" ON "sync_tasks"("state", "kind");

-- CreateIndex
CREATE UNIQUE INDEX "alerts_dedupe_key_key" ON "alerts"("dedupe_key");

-- CreateIndex
CREATE INDEX "alerts_state_idx" ON "alerts"("state");

-- AddForeignKey
ALTER TABLE "trn_requests" ADD CONSTRAINT "trn_requests_trainee_id_fkey" FOREIGN KEY ("trainee_id") REFERENCES "trainees"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_events" ADD CONSTRAINT "sync_events_trainee_id_fkey" FOREIGN KEY ("trainee_id") REFERENCES "trainees"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_tasks" ADD CONSTRAINT "sync_tasks_trainee_id_fkey" FOREIGN KEY ("trainee_id") REFERENCES "trainees"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sent_payloads" ADD CONSTRAINT "sent_payloads_trainee_id_fkey" FOREIGN KEY ("trainee_id") REFERENCES "trainees"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
