/** Every job of the teacher-records queue. Adding a job means adding its file and one line here. */
import type { SyncTaskKind } from "../generated/prisma/client.js";
import type { SyncJobDefinition } from "./job.js";
import { registerForTrn } from "./register-for-trn.js";
import { pollTrn } from "./poll-trn.js";
import { updateTrainee } from "./update-trainee.js";
import { withdrawTrainee } from "./withdraw-trainee.js";
import { awardTrainee } from "./award-trainee.js";

export const syncJobs: Record<SyncTaskKind, SyncJobDefinition> = {
  register_for_trn: registerForTrn,
  poll_trn: pollTrn,
  update_trainee: updateTrainee,
  withdraw_trainee: withdrawTrainee,
  award_trainee: awardTrainee,
};

export const syncJobsByName = new Map(Object.values(syncJobs).map((job) => [job.name as string, job]));
