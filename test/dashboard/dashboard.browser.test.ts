/**
 * The support workbench in a real browser (Debian's chromium, driven by playwright-core) against
 * the real server, a worker, the sandbox TRS, Postgres and Redis: sign in, filter failed jobs by
 * class, retry every matching one (a trainee whose update and award both failed among them) and
 * see TRS receive the update before the award, download the CSV, extend a pending TRN, see a
 * viewer refused every action, and the audit log list each action. A screenshot of each page is
 * saved in test-results/screenshots. CI installs chromium; locally: apt-get install -y chromium.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";
import { accounts, dashboardEnv } from "./helpers.js";

const executablePath = "/usr/bin/chromium";
const screenshots = join(process.cwd(), "test-results", "screenshots");
let h: Harness;
let browser: Browser;
let url: string;

beforeAll(async () => {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install -y chromium`);
  h = await startHarness({ env: dashboardEnv() });
  url = h.webUrl;
  await mkdir(screenshots, { recursive: true });
  browser = await chromium.launch({
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
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** A browser of its own for one person (its own cookies). */
const newPage = async () => (await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } })).newPage();

async function signIn(page: Page, account: { name: string; password: string }) {
  await page.goto(`${url}/admin/login`);
  await page.fill("#name", account.name);
  await page.fill("#password", account.password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${url}/admin`);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });

/** A trainee with its TRN, in sync at the sandbox (a record whose personal details TRS lets us change). */
async function inSync(lastName: string) {
  const doc = traineeDoc({ lastName: `${lastName} +legacy` });
  await h.api.put(doc.slug, doc);
  const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
  await h.waitFor("in sync", async () => (await h.trainee(doc.slug)).sync.pending.length === 0);
  return { ...doc, state: "trn_received", trn: trn as string };
}

describe("the workbench in a browser", () => {
  it("finds, understands, exports and fixes failed and pending work; viewers only look; the audit log shows it all", async () => {
    const { prisma } = h.world.deps;
    // Three trainees whose work failed with a server error, one of them with its update and its
    // award both failed; one failed for another reason; one waiting for its TRN.
    const awarded = await inSync("Hopper");
    const failing = [awarded, await inSync("Lamarr"), await inSync("Noether")];
    const other = await inSync("Franklin");
    await h.stopWorkers();
    await h.api.put(awarded.slug, { ...awarded, state: "recommended_for_award", outcomeDate: "2026-07-01", firstNames: "Grace Brewster" });
    await h.api.put(failing[1]!.slug, { ...failing[1]!, firstNames: "Hedy" });
    await h.api.put(failing[2]!.slug, { ...failing[2]!, firstNames: "Emmy" });
    await h.api.put(other.slug, { ...other, firstNames: "Rosalind" });
    for (const t of failing)
      await movePendingTasks(prisma, { trainee: { slug: t.slug } }, "failed", {
        errorClass: "api_unavailable",
        httpStatus: 503,
        attempts: 10,
      });
    await movePendingTasks(prisma, { trainee: { slug: other.slug } }, "failed", { errorClass: "validation_failed", httpStatus: 400 });
    const stuck = traineeDoc({ lastName: "Waiting +stuck" });
    await h.api.put(stuck.slug, stuck);
    await h.startWorker();
    await h.waitFor(
      "stuck trainee polled",
      async () => (await prisma.trnRequest.findFirst({ where: { trainee: { slug: stuck.slug }, state: "pending" } })) !== null,
    );
    const before = h.sandbox.requestLog().length;

    const page = await newPage();
    await signIn(page, accounts.support);
    await shot(page, "overview");

    // failed jobs, filtered by class through its count link
    await page.goto(`${url}/admin/dead-jobs`);
    await shot(page, "failed-jobs");
    await page.click('#by-error-class a[href="/admin/dead-jobs?errorClass=api_unavailable"]');
    await page.waitForURL(/errorClass=api_unavailable/);
    expect(await page.locator("#summary").textContent()).toMatch(/4 failed jobs for 3 trainees/);
    expect(await page.locator("#failed-jobs tbody tr").count()).toBe(4);

    // the CSV of that filter
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
    expect(download.suggestedFilename()).toMatch(/^failed-jobs-api_unavailable-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = (await readFile((await download.path())!, "utf8")).trim().split("\n");
    expect(csv[0]).toMatch(/^trainee_slug,job_id,job_type,url,trn,/);
    expect(
      csv
        .slice(1)
        .map((line) => line.split(",")[0])
        .sort(),
    ).toEqual([awarded.slug, awarded.slug, failing[1]!.slug, failing[2]!.slug].sort());

    // retry every matching job: the plan first, then the retry
    await page.click("#retry-all");
    await page.waitForURL(`${url}/admin/dead-jobs/retry`);
    expect(await page.locator("#plan-summary").textContent()).toMatch(/retry 4 jobs for 3 trainees/);
    expect(await page.locator("#plan").textContent()).toMatch(/update-trainee #\d+, then award-trainee #\d+/);
    await shot(page, "retry-plan");
    await page.click("#confirm");
    await page.waitForURL(/\/admin\/dead-jobs/);
    expect(await page.locator(".govuk-notification-banner").textContent()).toMatch(/Retried 4 jobs for 3 trainees/);
    await h.waitFor("awarded", async () => (await h.trainee(awarded.slug)).state === "awarded", 30_000);
    const calls = h.sandbox
      .requestLog()
      .slice(before)
      .filter((r) => r.path.includes(awarded.trn) || r.path.includes(awarded.slug))
      .map((r) => (r.path.includes("routes-to") ? `route:${(r.body as { status: string }).status}` : "person"));
    // the update (the new first name; the route's details had not changed) before the award
    expect(calls).toEqual(["person", "route:Holds"]);

    // extend a pending TRN
    await page.goto(`${url}/admin/pending-trns`);
    await page.check(`#slug-${stuck.slug}`);
    await page.fill("#days", "6");
    await page.click("#extend-selected");
    await page.waitForURL(`${url}/admin/pending-trns`);
    expect(await page.locator(".govuk-notification-banner").textContent()).toMatch(/Deadline extended by 6 days for 1 trainee/);
    await shot(page, "pending-trns");
    await page.goto(`${url}/admin/pending-awards`);
    await shot(page, "pending-awards");
    await page.goto(`${url}/admin/trainees/${other.slug}`);
    await shot(page, "trainee");

    // a viewer sees no action, and the server refuses one made anyway
    const vp = await newPage();
    await signIn(vp, accounts.viewer);
    await vp.goto(`${url}/admin/dead-jobs`);
    expect(await vp.locator("#retry-all, #cancel-all, #failed-jobs input[type=checkbox]").count()).toBe(0);
    await vp.goto(`${url}/admin/pending-trns`);
    expect(await vp.locator("#extend-selected, #pending-trns button").count()).toBe(0);
    await vp.goto(`${url}/admin/trainees/${other.slug}`);
    expect(await vp.locator("#tasks form").count()).toBe(0);
    const refused = await vp.evaluate(
      async () => (await fetch("/admin/dead-jobs/retry", { method: "POST", body: new URLSearchParams({ all: "1" }) })).status,
    );
    expect(refused).toBe(403);
    await vp.goto(`${url}/admin/queues`);
    await vp.getByText("teacher-records").first().waitFor({ timeout: 15_000 });
    await shot(vp, "bull-board");

    // the audit log lists each action
    await page.goto(`${url}/admin/audit`);
    await shot(page, "audit");
    const actions = await page.locator("#audit tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-action")));
    expect(actions).toEqual(expect.arrayContaining(["sign-in", "retry-failed-jobs", "extend-trn-deadline"]));
    expect(await page.locator('#audit tbody tr[data-action="retry-failed-jobs"]').textContent()).toContain(accounts.support.name);
  }, 120_000);
});
