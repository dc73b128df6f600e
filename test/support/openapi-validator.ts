/**
 * Checks answers against the published OpenAPI document (docs/openapi.json), with a JSON Schema
 * 2020-12 validator that knows nothing of zod: what a client generated from the document expects.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { findProjectRoot } from "../../src/project-root.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
export const publishedDocument = JSON.parse(readFileSync(path.join(findProjectRoot(), "docs", "openapi.json"), "utf8")) as Json;

const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema(publishedDocument, "openapi.json");

/** The schema the document gives for that answer, or undefined when it documents none. */
function schemaRef(template: string, method: string, status: number): string | undefined {
  const paths = publishedDocument.paths as Record<string, Record<string, { responses?: Record<string, Json> }>>;
  const response = paths[template]?.[method.toLowerCase()]?.responses?.[String(status)];
  const schema = (response?.content as Record<string, { schema: { $ref: string } }> | undefined)?.["application/json"]?.schema;
  return schema?.$ref;
}

/** Problems with an answer: not documented at all, or not matching its schema (empty when fine). */
export function answerProblems(answer: { template: string; method: string; status: number; body: unknown }): string[] {
  const ref = schemaRef(answer.template, answer.method, answer.status);
  if (!ref) return [`${answer.method} ${answer.template} ${answer.status} is not in the document`];
  const validate = ajv.getSchema(`openapi.json${ref}`);
  if (!validate) return [`${ref} does not resolve`];
  if (validate(answer.body)) return [];
  return (validate.errors ?? []).map((e) => `${answer.method} ${answer.template} ${answer.status}: ${e.instancePath || "/"} ${e.message}`);
}

/** Every (path, method, status) the document promises. */
export function documentedAnswers(): string[] {
  const paths = publishedDocument.paths as Record<string, Record<string, { responses?: Json }>>;
  return Object.entries(paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => ["get", "put", "post", "delete"].includes(method))
      .flatMap(([method, operation]) =>
        Object.keys(operation.responses ?? {}).map((status) => `${method.toUpperCase()} ${template} ${status}`),
      ),
  );
}
