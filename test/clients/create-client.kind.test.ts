import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { createTeacherRecordsClient } from "../../src/clients/create-client.js";
import { trsScenario } from "../support/trs-scenarios.js";

afterEach(() => nock.cleanAll());

describe("createTeacherRecordsClient", () => {
  it("builds the TRS client, which sends X-Api-Version", async () => {
    const client = createTeacherRecordsClient({
      kind: "trs",
      baseUrl: "https://trs.test",
      apiKey: "k",
      version: "20260612",
      timeoutMs: 1000,
    });
    expect(client.kind).toBe("trs");
    let version: string | null = null;
    trsScenario("https://trs.test", "pending", { on: "getTrnRequest" }).on("request", (request: Request) => {
      version = request.headers.get("x-api-version");
    });
    await client.getTrnRequest("req-1");
    expect(version).toBe("20260612");
  });

  it("builds the DQT client, which sends no X-Api-Version", async () => {
    const samples: string[] = [];
    const client = createTeacherRecordsClient({
      kind: "dqt",
      baseUrl: "https://dqt.test/api",
      apiKey: "k",
      version: "20250627",
      timeoutMs: 1000,
      observe: (s) => samples.push(`${s.method} ${s.endpoint} ${s.status}`),
    });
    expect(client.kind).toBe("dqt");
    let seen: Request | undefined;
    nock("https://dqt.test")
      .get("/api/v2/trn-requests/req-1")
      .reply(function (this: unknown, ...args: unknown[]) {
        seen = args[0] as Request;
        return [200, { requestId: "req-1", status: "Pending", trn: null }];
      });
    expect(await client.getTrnRequest("req-1")).toMatchObject({ status: "pending", potentialDuplicate: true });
    expect(seen!.headers.has("x-api-version")).toBe(false);
    expect(samples).toEqual(["GET /v2/trn-requests/{requestId} 200"]);
  });

  it("keeps a path prefix of the base URL", async () => {
    const client = createTeacherRecordsClient({ kind: "dqt", baseUrl: "https://dqt.test/api/", apiKey: "k", version: "", timeoutMs: 1000 });
    const prefixed = nock("https://dqt.test").get("/api/v2/teachers/1234567").reply(200, { trn: "1234567" });
    expect(await client.getPerson("1234567")).toEqual({ trn: "1234567" });
    expect(prefixed.isDone()).toBe(true);
  });
});
