/**
 * Which answers to a TRN request close it (a refusal: a new request is needed) and which mean it
 * may have been received (the same request id is sent again, never a new one).
 */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/clients/api-error.js";
import { mayHaveBeenReceived, refusesTrnRequest } from "../../src/jobs/register-for-trn.js";

const answer = (status: number, errorCode?: number) => new ApiError({ status, method: "POST", endpoint: "/v3/trn-requests", errorCode });

describe("an answer to a TRN request", () => {
  it.each([
    [answer(400), true, false],
    [answer(422), true, false],
    [answer(400, 10039), true, false],
    [answer(401), false, false],
    [answer(403), false, false],
    [answer(404), false, false],
    [answer(408), false, true],
    [answer(409, 10029), false, false],
    [answer(429), false, false],
    [answer(200), false, true],
    [answer(204), false, true],
    [answer(302), false, true],
    [answer(308), false, true],
    [answer(500), false, false],
    [answer(503), false, false],
    [answer(0), false, false],
    [new Error("boom"), false, false],
  ])("%s: closes %s, may have been received %s", (error, closes, received) => {
    expect(refusesTrnRequest(error)).toBe(closes);
    expect(mayHaveBeenReceived(error)).toBe(received);
  });
});
