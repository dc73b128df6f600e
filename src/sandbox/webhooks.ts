/**
 * The sandbox's side of TRS webhooks: its own P-384 signing key (published at GET /webhook-jwks),
 * and, when a webhook URL is set, a signed `trn_request.completed` CloudEvent for each TRN request
 * that completes, retried on a shortened schedule. The `+hook…` markers (markers.ts) lose,
 * duplicate, delay, mis-sign or re-key a delivery.
 */
import { createHash, KeyObject, randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import got from "got";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { createSigner, httpbis } from "http-message-signatures";
import type { Logger } from "pino";
import { markersIn } from "./markers.js";
import type { TrnRequestRecord } from "./state.js";

export interface WebhookKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export async function createWebhookKey(): Promise<WebhookKey> {
  const pair = await generateKeyPair("ES384", { extractable: true });
  const kid = `sandbox-${randomUUID()}`;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES384", use: "sig" };
  return { kid, privateKey: KeyObject.from(pair.privateKey), publicJwk };
}

/**
 * A webhook request as TRS sends it: CloudEvents 1.0 binary-mode headers, an RFC 9530
 * Content-Digest and an RFC 9421 `whsig` signature. `created`/`expires` may be set to make stale
 * signatures for tests.
 */
export async function signedWebhookRequest(options: {
  url: string;
  key: { kid: string; privateKey: KeyObject };
  ceId: string;
  type: "trn_request.completed" | "ping";
  body: string;
  created?: Date;
  expires?: Date;
}): Promise<Record<string, string>> {
  const created = options.created ?? new Date();
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(options.body)),
    "content-digest": `sha-256=:${createHash("sha256").update(options.body).digest("base64")}:`,
    "ce-specversion": "1.0",
    "ce-id": options.ceId,
    "ce-type": options.type,
    "ce-source": "https://teacher-records-sandbox/",
    "ce-time": created.toISOString(),
    "ce-dataschema": "https://teacher-records-sandbox/webhooks/trn_request.completed.json",
  };
  const signed = await httpbis.signMessage(
    {
      key: createSigner(options.key.privateKey, "ecdsa-p384-sha384", options.key.kid),
      name: "whsig",
      fields: ["@target-uri", "content-digest", "content-length", "ce-id", "ce-type", "ce-time"],
      params: ["created", "expires", "keyid", "alg"],
      paramValues: { created, expires: options.expires ?? new Date(created.getTime() + 5 * 60_000) },
    },
    { method: "POST", url: options.url, headers },
  );
  return Object.fromEntries(
    Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(", ") : value]),
  );
}

export interface WebhookDelivery {
  ceId: string;
  requestId: string;
  attempt: number;
  /** the HTTP status, or 0 when the request failed */
  status: number;
}

export interface SandboxWebhookOptions {
  url?: string;
  /** how late `+hookdelay` sends, in ms; default 1000 */
  delayMs?: number;
  /** waits before each retry of a refused delivery, in ms; default 100, 300, 1000, 3000 */
  retryDelaysMs?: number[];
  pendingCompletesAfterMs: number;
  now: () => Date;
  logger?: Logger;
}

export class SandboxWebhooks {
  private keys: WebhookKey[] = [];
  private ready: Promise<void>;
  private timers = new Set<NodeJS.Timeout>();
  private sending = new Set<Promise<void>>();
  private closed = false;
  private readonly closing = new AbortController();
  url: string | undefined;
  /** the URL registered with TRS, which the signature covers, when a proxy stands between (default: `url`) */
  signedUrl: string | undefined;
  readonly deliveries: WebhookDelivery[] = [];

  constructor(private readonly options: SandboxWebhookOptions) {
    this.url = options.url;
    this.ready = createWebhookKey().then((key) => void this.keys.push(key));
  }

  /** GET /webhook-jwks: every public key, the newest last */
  jwksRoute(): RequestHandler {
    return async (_req, res) => {
      await this.ready;
      res.set("Cache-Control", "max-age=60").json({ keys: this.keys.map((key) => key.publicJwk) });
    };
  }

  /** A new signing key; the old ones stay published (messages signed with them may still be in flight). */
  async rotate(): Promise<string> {
    await this.ready;
    const key = await createWebhookKey();
    this.keys.push(key);
    return key.kid;
  }

  /** With webhooks on a `+pending` request completes by itself after the delay, not only when read. */
  requestAdded(record: TrnRequestRecord, complete: () => void): void {
    if (!this.url || record.completes !== "delay") return;
    this.later(this.options.pendingCompletesAfterMs, complete);
  }

  requestCompleted(record: TrnRequestRecord): void {
    if (!this.url || this.closed) return;
    const found = markersIn(record.person.lastName);
    if (found.has("hooklost")) return;
    const ceId = randomUUID();
    const body = JSON.stringify({
      trnRequest: { requestId: record.requestId, trn: record.trn, status: "Completed", potentialDuplicate: record.potentialDuplicate },
    });
    const send = () =>
      this.track(
        this.deliver({ ceId, requestId: record.requestId, body, rotate: found.has("hookrotate"), badKey: found.has("hookbadsig") }),
      );
    if (found.has("hookdelay")) this.later(this.options.delayMs ?? 1_000, send);
    else send();
    if (found.has("hookdup")) this.later(50, send);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.sending]);
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) run();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private track(sending: Promise<void>): void {
    this.sending.add(sending);
    void sending.finally(() => this.sending.delete(sending));
  }

  private async deliver(message: { ceId: string; requestId: string; body: string; rotate: boolean; badKey: boolean }): Promise<void> {
    await this.ready;
    if (message.rotate) await this.rotate();
    const key = message.badKey ? await createWebhookKey() : this.keys.at(-1)!;
    const delays = this.options.retryDelaysMs ?? [100, 300, 1_000, 3_000];
    for (let attempt = 1; ; attempt++) {
      const url = this.url;
      if (!url || this.closed) return;
      let status = 0;
      try {
        const headers = await signedWebhookRequest({
          url: this.signedUrl ?? url,
          key,
          ceId: message.ceId,
          type: "trn_request.completed",
          body: message.body,
        });
        // got, not fetch: nock's fetch interceptor (tests) cannot resend a request with a body
        const response = await got.post(url, {
          headers,
          body: message.body,
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: { request: 5_000 },
          signal: this.closing.signal,
        });
        status = response.statusCode;
      } catch (error) {
        this.options.logger?.warn({ err: error, ceId: message.ceId }, "sandbox webhook failed");
      }
      this.deliveries.push({ ceId: message.ceId, requestId: message.requestId, attempt, status });
      if (status >= 200 && status < 300) return;
      const wait = delays[attempt - 1];
      if (wait === undefined) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref();
        this.closing.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (this.closed) return;
    }
  }
}
