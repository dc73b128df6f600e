-- AlterEnum
ALTER TYPE "AlertState" ADD VALUE 'failed';

-- AlterEnum
ALTER TYPE "TrnRequestState" ADD VALUE 'superseded';

-- AlterTable
ALTER TABLE "sync_tasks" ADD COLUMN     "claim_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "stalls" INTEGER NOT NULL DEFAULT 0;
