-- AlterEnum
ALTER TYPE "TraineeState" ADD VALUE 'discarded';

-- AlterEnum
ALTER TYPE "TrnRequestState" ADD VALUE 'cancelled';

-- AlterTable
ALTER TABLE "sent_payloads" ADD COLUMN     "refused_code" INTEGER;

-- AlterTable
ALTER TABLE "trainees" ADD COLUMN     "discarded_at" TIMESTAMP(3),
ADD COLUMN     "national_insurance_number" TEXT,
ADD COLUMN     "training_country" TEXT;
-- trs-sync 0.1 stored its own short names for the ITT qualification aim, 0.2 stores Register wording
UPDATE "trainees" SET "itt_qualification_aim" = CASE "itt_qualification_aim"
  WHEN 'PGCE' THEN 'Postgraduate Certificate in Education'
  WHEN 'PGDE' THEN 'Postgraduate Diploma in Education'
  ELSE "itt_qualification_aim" END
WHERE "itt_qualification_aim" IN ('PGCE', 'PGDE');
