/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core): sign in as
 * support, retry a failed job from the trainee page, and open Bull Board. CI installs chromium;
 * locally: apt-get install -y chromium. DASHBOARD_SCREENSHOT=/path.png saves the trainee page.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordEvent } from "../../src/trainees/events.js";
import { accounts, createTrainee, dashboardWorld, failFirstTask, type DashboardWorld } from "./helpers.js";

const executablePath = "/usr/bin/chromium";
let t: DashboardWorld;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install -y chromium`);
  t = await dashboardWorld();
  profile = await mkdtemp(join(tmpdir(), "trs-sync-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
});
afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await t?.close();
});

describe("the dashboard in a browser", () => {
  it("lets support staff sign in, retry a failed job from the trainee page and open Bull Board", async () => {
    const slug = await createTrainee(t.api, { firstNames: "Grace", lastName: "Hopper" });
    const task = await failFirstTask(t.world, slug, "api_unavailable");
    await recordEvent(t.world.deps.prisma, {
      traineeId: task.traineeId,
      kind: "register_for_trn_failed",
      outcome: "failure",
      jobName: "register-for-trn",
      jobId: `register-for-trn-${task.id}`,
      taskId: task.id,
      errorClass: "api_unavailable",
      httpStatus: 500,
      message: "POST /v3/trn-requests answered 500",
    });
    await t.world.deps.prisma.trnRequest.updateMany({
      where: { traineeId: task.traineeId },
      data: { lastResponse: { requestId: "r-1", status: "Pending", trn: null, potentialDuplicate: true } },
    });
    const page = await browser.newPage();

    await page.goto(`${t.url}/admin/trainees/${slug}`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    await page.fill("#name", accounts.support.name);
    await page.fill("#password", accounts.support.password);
    await page.click("button[type=submit]");
    await page.waitForURL(`${t.url}/admin/trainees/${slug}`);
    await expect.poll(() => page.locator("h1").textContent()).toContain("Grace Hopper");
    if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });

    await page.locator(`tr[data-task-id="${task.id}"] button`, { hasText: "Retry" }).click();
    await page.waitForSelector(".flash");
    expect(await page.locator(".flash").textContent()).toContain(`Retry requested: register-for-trn #${task.id} will run again.`);
    expect((await t.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } })).state).toBe("pending");

    await page.goto(`${t.url}/admin/queues`);
    await page.getByText("teacher-records").first().waitFor({ timeout: 15_000 });
    expect(await page.title()).toBe("trs-sync");
    await page.getByText("alerts").first().waitFor();
  });
});
