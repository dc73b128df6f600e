/**
 * Verifying a TRS webhook message: the body against its `Content-Digest` (RFC 9530), then the
 * `whsig` signature (RFC 9421, ecdsa-p384-sha384) over the target URI, digest, length and the
 * CloudEvents id, type and time, with a key from TRS's JWKS looked up by `keyid`.
 */
import { createHash, KeyObject, timingSafeEqual } from "node:crypto";
import { createRemoteJWKSet, errors as joseErrors } from "jose";
import { createVerifier, httpbis, type VerifyingKey } from "http-message-signatures";

export const WEBHOOK_SIGNATURE_LABEL = "whsig";
export const WEBHOOK_SIGNATURE_ALG = "ecdsa-p384-sha384";
export const WEBHOOK_SIGNED_FIELDS = ["@target-uri", "content-digest", "content-length", "ce-id", "ce-type", "ce-time"];
/** a signature created longer ago than this is refused even before its `expires` */
export const WEBHOOK_MAX_AGE_S = 300;
/** clock difference allowed between TRS and us */
const CLOCK_TOLERANCE_S = 30;

/** Finds TRS's public key for a `keyid`; null when there is none. */
export type WebhookKeyLookup = (kid: string) => Promise<KeyObject | null>;

/**
 * Keys from `<TRS API base URL>/webhook-jwks`, cached; an unknown kid fetches the set again (at
 * most once per `cooldownMs`, so that made-up kids cannot make us hammer TRS).
 */
export function remoteWebhookKeys(options: { jwksUrl: string; cooldownMs?: number }): WebhookKeyLookup {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.cooldownMs ?? 2_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
  });
  return async (kid) => {
    try {
      const key = await jwks({ alg: "ES384", kid });
      return key instanceof KeyObject ? key : KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) return null;
      throw new KeysUnavailable(error instanceof Error ? error.message : String(error));
    }
  };
}

/** The SHA-256 of `Content-Digest`, in RFC 9530 form (`sha-256=:…:`) or the older `SHA-256=…`; null if absent. */
export function digestOf(header: string | undefined): Buffer | null {
  if (!header) return null;
  for (const entry of header.split(",")) {
    const match = /^\s*sha-256\s*=\s*(?::([A-Za-z0-9+/=]+):|([A-Za-z0-9+/=]+))\s*$/i.exec(entry);
    const value = match?.[1] ?? match?.[2];
    if (value) return Buffer.from(value, "base64");
  }
  return null;
}

/** TRS's keys could not be fetched (a timeout, a 5xx): the message may be genuine, so TRS should send it again. */
export class KeysUnavailable extends Error {
  constructor(detail: string) {
    super(`TRS's webhook keys could not be fetched: ${detail}`);
  }
}

/** `transient`: nothing is known against the message (its keys could not be fetched): answer so that TRS retries. */
export type WebhookVerdict = { ok: true; keyId: string } | { ok: false; reason: string; transient?: true };

/**
 * Whether the message is TRS's, unchanged and fresh. `url` is the URL the request was sent to
 * (the signed `@target-uri`); `headers` lower-cased, as Node gives them.
 */
export async function verifyWebhookMessage(options: {
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  keys: WebhookKeyLookup;
}): Promise<WebhookVerdict> {
  const { body } = options;
  const headers = Object.fromEntries(Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  const claimed = digestOf(header("content-digest"));
  if (!claimed) return { ok: false, reason: "missing content-digest" };
  const actual = createHash("sha256").update(body).digest();
  if (claimed.length !== actual.length || !timingSafeEqual(claimed, actual)) return { ok: false, reason: "content-digest mismatch" };
  if (header("content-length") !== String(body.length)) return { ok: false, reason: "content-length mismatch" };
  const input = header("signature-input") ?? "";
  if (!new RegExp(`(^|,)\\s*${WEBHOOK_SIGNATURE_LABEL}=`).test(input)) return { ok: false, reason: "no whsig signature" };

  // only the whsig signature counts: any other label is left out of what is verified
  const signed: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name !== "signature" && name !== "signature-input")
      signed[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  signed["signature-input"] = only(input, WEBHOOK_SIGNATURE_LABEL);
  signed["signature"] = only(header("signature") ?? "", WEBHOOK_SIGNATURE_LABEL);

  let keyId = "";
  let unknownKey = false;
  try {
    const verified = await httpbis.verifyMessage(
      {
        keyLookup: async (params): Promise<VerifyingKey | null> => {
          keyId = typeof params.keyid === "string" ? params.keyid : "";
          const key = keyId ? await options.keys(keyId) : null;
          if (!key) {
            unknownKey = true;
            return null;
          }
          return { id: keyId, algs: [WEBHOOK_SIGNATURE_ALG], verify: createVerifier(key, WEBHOOK_SIGNATURE_ALG) };
        },
        maxAge: WEBHOOK_MAX_AGE_S,
        tolerance: CLOCK_TOLERANCE_S,
        requiredParams: ["created", "expires", "keyid"],
        requiredFields: WEBHOOK_SIGNED_FIELDS,
      },
      { method: "POST", url: options.url, headers: signed },
    );
    if (verified === true) return { ok: true, keyId };
    return { ok: false, reason: unknownKey ? `unknown key ${keyId}` : "bad signature" };
  } catch (error) {
    if (error instanceof KeysUnavailable) return { ok: false, reason: error.message, transient: true };
    return { ok: false, reason: error instanceof Error ? `signature refused: ${error.message}` : "signature refused" };
  }
}

/** The `label=…` member of a Signature or Signature-Input dictionary (labels hold no commas outside their value's parens/colons). */
function only(dictionary: string, label: string): string {
  const start = dictionary.search(new RegExp(`(^|,)\\s*${label}=`));
  if (start < 0) return "";
  const rest = dictionary.slice(start).replace(/^,\s*/, "");
  // a member ends at a comma that follows a closing `;param` list or `:…:` value; the next label starts `name=`
  const next = rest.slice(label.length + 1).search(/,\s*[a-z*][a-z0-9_\-.*]*=/);
  return next < 0 ? rest : rest.slice(0, label.length + 1 + next);
}
