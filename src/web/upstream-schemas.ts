/**
 * The upstream API's answers (CONTRACT.md §4), as zod schemas. The views in upstream-api.ts are
 * typed by them, and the OpenAPI document (openapi.ts) is generated from them and from the
 * trainee document schema that validates requests: what is published is what is sent.
 */
import { z } from "zod";
import { jobNames } from "../jobs/queues.js";
import { documentStates, sexes, traineeStates, trainingRoutes } from "../trainees/document.js";

const jobTypes = Object.values(jobNames) as [string, ...string[]];
const isoTime = z.string().meta({ format: "date-time" });
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .meta({ format: "date" });
const id = z.string().regex(/^\d+$/).meta({ description: "a decimal integer, as a string (it may exceed 2^53)" });

export const taskViewSchema = z
  .strictObject({
    taskId: id,
    jobType: z.enum(jobTypes),
    state: z.enum(["pending", "queued", "running", "succeeded", "failed", "cancelled"]),
    attempts: z.number().int(),
    availableAt: isoTime.meta({ description: "not before this time" }),
    errorClass: z.string().nullable().meta({ description: "the error class of the last failure (`npm run cli -- error-classes`)" }),
    httpStatus: z.number().int().nullable(),
    errorCode: z.number().int().nullable().meta({ description: "the teacher records API's errorCode" }),
    errorMessage: z.string().nullable(),
    failedAt: isoTime.nullable(),
  })
  .meta({ description: "A job for the teacher records API, in the trainee's line" });

const waitingFor = z
  .strictObject({
    taskId: id,
    jobType: z.enum(jobTypes),
    state: taskViewSchema.shape.state,
    errorClass: z.string().nullable(),
  })
  .meta({ description: "the job at the head of the trainee's line, which this one waits for" });

export const lineTaskSchema = taskViewSchema
  .extend({ waitingFor: waitingFor.optional() })
  .meta({ description: "A job in the trainee's line; one behind the head says what it waits for" });

export const eventViewSchema = z
  .strictObject({
    id,
    at: isoTime,
    kind: z.string().meta({ description: "e.g. document_accepted, trn_received, update_trainee_failed" }),
    outcome: z.string().meta({ description: "success, failure, info, …" }),
    message: z.string().nullable(),
    jobName: z.string().nullable(),
    jobId: z.string().nullable(),
    errorClass: z.string().nullable(),
    httpStatus: z.number().int().nullable(),
    errorCode: z.number().int().nullable(),
  })
  .meta({ description: "One entry of the trainee's timeline" });

export const traineeResponseSchema = z
  .strictObject({
    slug: z.string(),
    firstNames: z.string(),
    middleNames: z.string().nullable(),
    lastName: z.string(),
    dateOfBirth: day,
    sex: z.enum(sexes).nullable(),
    email: z.string().nullable(),
    trainingRoute: z.enum(trainingRoutes).nullable(),
    providerUkprn: z.string().nullable(),
    providerName: z.string().nullable(),
    ittStartDate: day.nullable(),
    ittEndDate: day.nullable(),
    traineeStartDate: day.nullable(),
    studyMode: z.enum(["full_time", "part_time"]).nullable(),
    courseSubjects: z.array(z.string()),
    courseMinAge: z.number().int().nullable(),
    courseMaxAge: z.number().int().nullable(),
    ittQualificationAim: z.string().nullable().meta({ description: "stored as Register's wording, whichever form was sent" }),
    nationalInsuranceNumber: z.string().nullable(),
    trainingCountry: z.string().nullable(),
    outcomeDate: day.nullable(),
    withdrawDate: day.nullable(),
    state: z.enum(traineeStates),
    trn: z.string().nullable(),
    awardedAt: day.nullable(),
    submittedForTrnAt: isoTime.nullable(),
    recommendedForAwardAt: isoTime.nullable(),
    discardedAt: isoTime.nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
    sync: z.strictObject({
      pending: z.array(lineTaskSchema).meta({ description: "work not yet done, in the order it reaches the API" }),
      failed: z.array(lineTaskSchema).meta({ description: "failed jobs support must look at; the work behind them waits" }),
      lastEvent: eventViewSchema.nullable(),
    }),
  })
  .meta({ description: "The stored trainee document, its TRN and award, and its sync work" });

export const timelineResponseSchema = z.strictObject({ events: z.array(eventViewSchema) });

export const cancelResponseSchema = z.strictObject({
  cancelled: taskViewSchema,
  next: taskViewSchema.nullable().meta({ description: "what runs next for the trainee" }),
});

export const validationErrorSchema = z
  .strictObject({ errors: z.record(z.string(), z.array(z.string())).meta({ description: "messages by field (dotted path)" }) })
  .meta({ description: "Nothing was written" });

export const conflictSchema = z.strictObject({
  error: z.string(),
  allowedTransitions: z.array(z.enum(documentStates)).optional().meta({ description: "the states the trainee may move to from here" }),
});

export const errorSchema = z.strictObject({ error: z.string() });

/** Who asked and why, for the timeline: `{by, reason}`, both optional unless said. */
export const actionBodySchema = z.strictObject({
  by: z.string().trim().min(1).max(100).optional().meta({ description: "who asked (defaults to the upstream application)" }),
  reason: z.string().trim().min(1, "is required").max(500).optional(),
});

export type TaskView = z.infer<typeof taskViewSchema>;
export type EventView = z.infer<typeof eventViewSchema>;
export type TraineeResponse = z.infer<typeof traineeResponseSchema>;
