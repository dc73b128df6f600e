/**
 * The OpenAPI 3.1 document of the upstream API (CONTRACT.md §10), generated from the zod schemas
 * that validate the requests (trainees/document.ts) and type the answers (upstream-schemas.ts), so
 * that the application pushing trainees can generate its client and validate before sending.
 * Served at GET /api/v1/openapi.json and checked in as docs/openapi.json (`npm run openapi`
 * writes it; a test fails when the two differ).
 */
import { z } from "zod";
import { traineeDocumentSchema } from "../trainees/document.js";
import {
  actionBodySchema,
  cancelResponseSchema,
  conflictSchema,
  errorSchema,
  eventViewSchema,
  lineTaskSchema,
  taskViewSchema,
  timelineResponseSchema,
  traineeResponseSchema,
  validationErrorSchema,
} from "./upstream-schemas.js";
import {
  syncFailedEventSchema,
  syncRecoveredEventSchema,
  traineeAwardedEventSchema,
  trnReceivedEventSchema,
} from "../clients/upstream-webhooks.js";

type JsonObject = Record<string, unknown>;

/** Every named schema of the document: a schema used inside another becomes a $ref to its name. */
const components = {
  TraineeDocument: traineeDocumentSchema,
  Trainee: traineeResponseSchema,
  SyncTask: taskViewSchema,
  SyncTaskInLine: lineTaskSchema,
  SyncEvent: eventViewSchema,
  Timeline: timelineResponseSchema,
  CancelledTask: cancelResponseSchema,
  Action: actionBodySchema,
  ValidationErrors: validationErrorSchema,
  Conflict: conflictSchema,
  Error: errorSchema,
  TrnReceivedEvent: trnReceivedEventSchema,
  TraineeAwardedEvent: traineeAwardedEventSchema,
  SyncFailedEvent: syncFailedEventSchema,
  SyncRecoveredEvent: syncRecoveredEventSchema,
} satisfies Record<string, z.ZodType>;
type Component = keyof typeof components;

function componentSchemas(): Record<Component, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
  // "input": what a client may send (defaults optional, transforms seen from the outside)
  const { schemas } = z.toJSONSchema(registry, { target: "draft-2020-12", io: "input", uri: (id) => `#/components/schemas/${id}` });
  const unnamed = Object.keys(schemas).filter((id) => !(id in components));
  if (unnamed.length) throw new Error(`schemas used in several places need a name in openapi.ts: ${unnamed.join(", ")}`);
  const out = {} as Record<Component, JsonObject>;
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema as JsonObject;
    out[id as Component] = rest;
  }
  // The slug is in the path; the body may leave it out (or must repeat it exactly).
  const document = out.TraineeDocument;
  document.required = (document.required as string[]).filter((field) => field !== "slug");
  (document.properties as Record<string, JsonObject>).slug!.description = "optional: the slug of the path; if given it must be equal";
  return out;
}

const ref = (name: Component) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: Component, description: string) => ({ description, content: { "application/json": { schema: ref(name) } } });

const slugParameter = {
  name: "slug",
  in: "path",
  required: true,
  description: "the trainee's stable id in the upstream application, also the TRS route reference",
  schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,100}$" },
};
const unauthorised = json("Error", "no valid bearer token");
const notFound = json("Error", "no trainee with this slug");
const badSlug = json("ValidationErrors", "a malformed slug or body");
const unavailable = json("Error", "the database is unavailable: nothing was stored; send again after Retry-After seconds");

/** Events trs-sync POSTs to UPSTREAM_WEBHOOK_URL (README "Events for the upstream application"). */
const webhookHeaders = [
  {
    name: "webhook-id",
    in: "header",
    required: true,
    description: "the event's id (a UUID): the same on every retry of this event; dedupe on it",
    schema: { type: "string", format: "uuid" },
  },
  {
    name: "webhook-timestamp",
    in: "header",
    required: true,
    description: "when this attempt was signed, unix seconds; refuse one far from your clock (5 minutes)",
    schema: { type: "string", pattern: "^\\d+$" },
  },
  {
    name: "webhook-signature",
    in: "header",
    required: true,
    description:
      "`v1,` then the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>` under UPSTREAM_WEBHOOK_SECRET " +
      "(a `whsec_` secret: its base64-decoded bytes) (Standard Webhooks)",
    schema: { type: "string", pattern: "^v1,[A-Za-z0-9+/=]+$" },
  },
];
const webhook = (name: Component, operationId: string, summary: string) => ({
  post: {
    operationId,
    summary,
    parameters: webhookHeaders,
    requestBody: { required: true, content: { "application/json": { schema: ref(name) } } },
    responses: {
      "2XX": { description: "accepted: not sent again" },
      default: { description: "anything else (or no answer within UPSTREAM_WEBHOOK_TIMEOUT): sent again later, with backoff, for ever" },
    },
  },
});

/** The document (a plain object: the same every time for the same code). */
export function openApiDocument(options: { version: string }): JsonObject {
  return {
    openapi: "3.1.0",
    info: {
      title: "trs-sync upstream API",
      version: options.version,
      description:
        "The application where trainees are edited pushes each trainee document here; trs-sync sends it to the " +
        "Teaching Record System in the right order. Sending the same document twice creates no new work.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths: {
      "/api/v1/trainees/{slug}": {
        parameters: [slugParameter],
        put: {
          operationId: "putTrainee",
          summary: "Create or replace the trainee document",
          requestBody: { required: true, content: { "application/json": { schema: ref("TraineeDocument") } } },
          responses: {
            "200": json("Trainee", "updated"),
            "201": json("Trainee", "created"),
            "400": json("ValidationErrors", "an invalid document: nothing was written"),
            "401": unauthorised,
            "409": json("Conflict", "a state change the state machine forbids, or a TRN that differs from the stored one"),
            "413": json("ValidationErrors", "a body over 100 kB"),
            "503": unavailable,
          },
        },
        get: {
          operationId: "getTrainee",
          summary: "The stored document, TRN, award and sync work",
          responses: { "200": json("Trainee", "the trainee"), "400": badSlug, "401": unauthorised, "404": notFound, "503": unavailable },
        },
        delete: {
          operationId: "discardTrainee",
          summary: "Discard the trainee: unstarted work cancelled, polling stopped, nothing more sent",
          requestBody: { required: false, content: { "application/json": { schema: ref("Action") } } },
          responses: {
            "200": json("Trainee", "discarded (also when it already was)"),
            "400": badSlug,
            "401": unauthorised,
            "404": notFound,
            "409": json("Conflict", "an awarded trainee, or an award being sent right now"),
          },
        },
      },
      "/api/v1/trainees/{slug}/timeline": {
        parameters: [slugParameter],
        get: {
          operationId: "getTimeline",
          summary: "The trainee's sync events, oldest first",
          responses: { "200": json("Timeline", "the timeline"), "400": badSlug, "401": unauthorised, "404": notFound },
        },
      },
      "/api/v1/trainees/{slug}/tasks/{taskId}/cancel": {
        parameters: [slugParameter, { name: "taskId", in: "path", required: true, schema: { type: "string", pattern: "^\\d+$" } }],
        post: {
          operationId: "cancelFailedTask",
          summary: "Cancel a failed job: it leaves the trainee's line and the work behind it runs",
          requestBody: { required: true, content: { "application/json": { schema: ref("Action") } } },
          responses: {
            "200": json("CancelledTask", "cancelled"),
            "400": json("ValidationErrors", "no reason given"),
            "401": unauthorised,
            "404": json("Error", "no such job for this trainee"),
            "409": json("Error", "the job is not failed"),
          },
        },
      },
    },
    webhooks: {
      "trn.received": webhook("TrnReceivedEvent", "trnReceived", "The trainee got a TRN"),
      "trainee.awarded": webhook("TraineeAwardedEvent", "traineeAwarded", "TRS holds the trainee's award"),
      "sync.failed": webhook("SyncFailedEvent", "syncFailed", "A sync job failed for good and waits for support"),
      "sync.recovered": webhook(
        "SyncRecoveredEvent",
        "syncRecovered",
        "A failed sync job succeeded on a retry, or was cancelled (by support or a discard)",
      ),
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "one of API_TOKENS" } },
      schemas: componentSchemas(),
    },
  };
}
