-- AlterTable
ALTER TABLE "sync_tasks" ADD COLUMN     "trace_context" TEXT;
