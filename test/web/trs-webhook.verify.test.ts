/**
 * Verifying TRS webhook messages: the Content-Digest, the RFC 9421 whsig signature, the key and
 * the signature's age. Pure: keys are generated here and looked up from a map.
 */
import { createHash, KeyObject } from "node:crypto";
import { importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createWebhookKey, signedWebhookRequest, type WebhookKey } from "../../src/sandbox/webhooks.js";
import {
  digestOf,
  KeysUnavailable,
  remoteWebhookKeys,
  verifyWebhookMessage,
  type WebhookKeyLookup,
} from "../../src/web/trs-webhook-verify.js";

const url = "https://trs-sync.test/webhooks/trs";
const body = JSON.stringify({ trnRequest: { requestId: "req-1", trn: "1234567", status: "Completed", potentialDuplicate: false } });

let key: WebhookKey;
let other: WebhookKey;
let keys: WebhookKeyLookup;
beforeAll(async () => {
  key = await createWebhookKey();
  other = await createWebhookKey();
  // TRS's JWKS holds only `key`
  const published = KeyObject.from((await importJWK(key.publicJwk, "ES384")) as Parameters<typeof KeyObject.from>[0]);
  keys = async (kid) => (kid === key.kid ? published : null);
});

const sign = (options: Partial<Parameters<typeof signedWebhookRequest>[0]> = {}) =>
  signedWebhookRequest({ url, key, ceId: "ce-1", type: "trn_request.completed", body, ...options });

const verify = (headers: Record<string, string>, text = body, at = url) =>
  verifyWebhookMessage({ url: at, headers, body: Buffer.from(text), keys });

describe("verifyWebhookMessage", () => {
  it("accepts a message signed with TRS's key", async () => {
    expect(await verify(await sign())).toEqual({ ok: true, keyId: key.kid });
  });

  it("refuses a tampered body, with or without a matching digest", async () => {
    const headers = await sign();
    const tampered = body.replace("1234567", "7654321");
    expect(await verify(headers, tampered)).toMatchObject({ ok: false, reason: "content-digest mismatch" });
    const redigested = { ...headers, "content-digest": `sha-256=:${createHash("sha256").update(tampered).digest("base64")}:` };
    expect(await verify(redigested, tampered)).toMatchObject({ ok: false });
  });

  it("refuses a missing digest, a missing signature and another target URI", async () => {
    const headers = await sign();
    const { "content-digest": _digest, ...noDigest } = headers;
    expect(await verify(noDigest)).toMatchObject({ ok: false, reason: "missing content-digest" });
    const { signature: _signature, "signature-input": _input, ...unsigned } = headers;
    expect(await verify(unsigned)).toMatchObject({ ok: false });
    expect(await verify(headers, body, "https://elsewhere.test/webhooks/trs")).toMatchObject({ ok: false, reason: "bad signature" });
  });

  it("refuses a signature by another key under TRS's kid, and an unknown kid", async () => {
    expect(await verify(await sign({ key: { kid: key.kid, privateKey: other.privateKey } }))).toMatchObject({
      ok: false,
      reason: "bad signature",
    });
    expect(await verify(await sign({ key: other }))).toMatchObject({ ok: false, reason: `unknown key ${other.kid}` });
  });

  it("refuses an expired signature and one created too long ago", async () => {
    const expired = await sign({ created: new Date(Date.now() - 120_000), expires: new Date(Date.now() - 60_000) });
    expect(await verify(expired)).toMatchObject({ ok: false, reason: expect.stringContaining("expired") });
    const old = await sign({ created: new Date(Date.now() - 30 * 60_000), expires: new Date(Date.now() + 60_000) });
    expect(await verify(old)).toMatchObject({ ok: false, reason: expect.stringContaining("too old") });
  });

  it("refuses a changed ce-id or ce-type (both are signed)", async () => {
    const headers = await sign();
    expect(await verify({ ...headers, "ce-id": "ce-2" })).toMatchObject({ ok: false, reason: "bad signature" });
    expect(await verify({ ...headers, "ce-type": "ping" })).toMatchObject({ ok: false, reason: "bad signature" });
  });
});

describe("digestOf", () => {
  it("says a message whose keys cannot be fetched now is not refused for good (TRS sends it again)", async () => {
    const unreachable: WebhookKeyLookup = async () => {
      throw new KeysUnavailable("timeout");
    };
    const verdict = await verifyWebhookMessage({ url, headers: await sign(), body: Buffer.from(body), keys: unreachable });
    expect(verdict).toMatchObject({ ok: false, transient: true });
    // a key TRS's JWKS does not hold is a refusal, not a wait
    expect(await verify(await sign({ key: other }))).not.toHaveProperty("transient");
  });

  it("turns a JWKS that cannot be fetched into a transient verdict", async () => {
    const keysOf = remoteWebhookKeys({ jwksUrl: "http://127.0.0.1:9/webhook-jwks" });
    await expect(keysOf("any")).rejects.toBeInstanceOf(KeysUnavailable);
  });

  it("reads the RFC 9530 form and the older SHA-256=base64 form", () => {
    const sha = createHash("sha256").update(body).digest();
    expect(digestOf(`sha-256=:${sha.toString("base64")}:`)).toEqual(sha);
    expect(digestOf(`SHA-256=${sha.toString("base64")}`)).toEqual(sha);
    expect(digestOf(`sha-512=:AAAA:, sha-256=:${sha.toString("base64")}:`)).toEqual(sha);
    expect(digestOf("md5=abc")).toBeNull();
    expect(digestOf(undefined)).toBeNull();
  });
});
