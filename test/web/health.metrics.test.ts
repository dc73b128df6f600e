import { afterEach, describe, expect, it } from "vitest";
import got from "got";
import { apiMetricsKey } from "../../src/web/health.js";
import { createApp } from "../../src/web/app.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { createTestWorld } from "../support/context.js";
import { serve } from "../support/http.js";
import { privateRedis } from "../support/private-redis.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const fetchText = async (url: string) => {
  const response = await got(url, { throwHttpErrors: false, retry: { limit: 0 } });
  return { status: response.statusCode, body: response.body };
};

describe("/metrics", () => {
  it("counts jobs by queue, name and state, failures by class, and API requests by endpoint and status", async () => {
    harness = await startHarness();
    const ok = traineeDoc();
    const refused = traineeDoc({ lastName: "Refused +reject" });
    await harness.api.put(ok.slug, ok);
    await harness.api.put(refused.slug, refused);
    await harness.waitFor("both settled", async () => {
      const [a, b] = [await harness!.trainee(ok.slug), await harness!.trainee(refused.slug)];
      return a.trn && a.sync.pending.length === 0 && b.sync.failed.length === 1;
    });
    await harness.world.deps.metrics.flush(harness.world.deps.redis, apiMetricsKey(harness.world.config.redisPrefix));
    const web = await serve(createApp(harness.world.deps, harness.world.queues));
    try {
      const { status, body } = await fetchText(`${web.url}/metrics`);
      expect(status).toBe(200);
      expect(body).toContain('trs_sync_jobs{queue="teacher-records",name="register-for-trn",state="succeeded"} 1');
      expect(body).toContain('trs_sync_jobs{queue="teacher-records",name="register-for-trn",state="failed"} 1');
      expect(body).toContain('trs_sync_jobs{queue="teacher-records",name="update-trainee",state="succeeded"} 1');
      expect(body).toContain('trs_sync_failed_jobs{error_class="validation_failed"} 1');
      expect(body).toContain('trs_sync_api_request_duration_seconds_count{endpoint="POST /v3/trn-requests",status="200"} 1');
      expect(body).toContain('trs_sync_api_request_duration_seconds_count{endpoint="POST /v3/trn-requests",status="400"} 1');
      // a person TRS created now refuses personal-detail updates (10041, counted as accepted)
      expect(body).toMatch(
        /trs_sync_api_request_duration_seconds_bucket\{endpoint="PUT \/v3\/persons\/\{trn\}",status="400",le="\+Inf"\} 1/,
      );
    } finally {
      await web.close();
    }
  });
});

describe("/healthz and /readyz", () => {
  it("are up while Postgres and Redis answer, and /readyz says 503 when Redis does not", async () => {
    const redis = await privateRedis();
    await redis.start();
    const world = await createTestWorld({ env: { REDIS_URL: redis.url } });
    const web = await serve(createApp(world.deps, world.queues));
    try {
      expect((await fetchText(`${web.url}/healthz`)).status).toBe(200);
      expect(JSON.parse((await fetchText(`${web.url}/readyz`)).body)).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
      await redis.stop();
      const down = await fetchText(`${web.url}/readyz`);
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body).checks).toEqual({ postgres: "ok", redis: "down" });
      expect((await fetchText(`${web.url}/healthz`)).status).toBe(200);
    } finally {
      await web.close();
      await redis.start();
      await world.cleanup();
      await redis.stop();
    }
  });
});
