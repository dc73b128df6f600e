/**
 * Markers let the demo and the tests provoke every TRS/DQT behaviour on purpose: a token `+word`
 * anywhere in a person's last name, e.g. "Smith +pending". The sandbox remembers the last name a
 * person was created with (keyed by TRN) and also reads a `lastName` in the body of a call, so a
 * marker follows the person through every later call. This table is the single list; `npm run
 * sandbox` prints it.
 */
export const markers = {
  pending: "TRN request answers Pending (potentialDuplicate true) and completes after the pending delay",
  stuck: "TRN request stays Pending until completed by hand (POST /__sandbox/trn-requests/:id/complete)",
  reject: "TRN request answers 400 validation on the date of birth (Birth date is out of expected range.)",
  err500: "every call for this person answers 500 with an empty body",
  err503: "every call for this person answers 503 with an empty body",
  notfound: "person calls (update, route, itt-outcome, get) answer 404 errorCode 10001",
  noitt: "DQT itt-outcome answers 400 errorCode 10005 (Teacher has no incomplete ITT record); nothing on TRS",
  noqts: "DQT itt-outcome Pass answers 400 errorCode 10006 (Teacher has no QTS record)",
  awarded: "the person already holds QTS: TRS route PUT 10052, TRS PUT persons 10042, DQT update 'Teacher already has QTS/EYTS date'",
  legacy:
    "the person is a record migrated from DQT that lets our API client change its personal details; TRS sets that for no new person, so a new person's PUT persons answers 10041, as at TRS",
  pii: "TRS PUT persons answers 400 errorCode 10041 (Updates to PII data is not permitted.), even for a +legacy person",
  badukprn: "route PUT answers 10048 (Invalid training provider UKPRN.); DQT answers 'Organisation not found'",
  slow: "every call for this person waits slowMs (default 2 s) before answering",
  hooklost: "with a webhook URL set: the trn_request.completed webhook is never sent (polling must find the TRN)",
  hookdup: "with a webhook URL set: the trn_request.completed webhook is delivered twice, with the same ce-id",
  hookdelay: "with a webhook URL set: the trn_request.completed webhook is sent webhookDelayMs (default 1 s) late",
  hookbadsig: "with a webhook URL set: the webhook is signed with a key that is not in the JWKS (refused; retried, then given up)",
  hookrotate: "with a webhook URL set: the signing key is rotated just before sending; the new kid appears in GET /webhook-jwks",
} as const satisfies Record<string, string>;

export type Marker = keyof typeof markers;

/** The markers named in any of `lastNames` (unknown `+words` are ignored; case-insensitive). */
export function markersIn(...lastNames: Array<string | null | undefined>): Set<Marker> {
  const found = new Set<Marker>();
  for (const name of lastNames) {
    for (const match of (name ?? "").matchAll(/\+([a-z0-9]+)/gi)) {
      const word = match[1]!.toLowerCase();
      if (Object.hasOwn(markers, word)) found.add(word as Marker);
    }
  }
  return found;
}

/** One line per marker, for `npm run sandbox`. */
export function describeMarkers(): string[] {
  return Object.entries(markers).map(([word, description]) => `+${word}: ${description}`);
}
