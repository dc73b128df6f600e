/**
 * /admin/pending-trns pages by keyset, 200 a page, the longest waiting first: following "Next
 * page" from the first page reaches every pending trainee exactly once, in order (ties on the
 * submission time broken by id), and "Previous page" walks back through the same pages. Only a
 * trainee's latest request is listed; received and superseded ones are not.
 */
import { load } from "cheerio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts, dashboardWorld, signedIn, type DashboardWorld, type Session } from "./helpers.js";

let t: DashboardWorld;
let viewer: Session;
const PENDING = 450;

beforeAll(async () => {
  t = await dashboardWorld();
  viewer = await signedIn(t.url, accounts.viewer);
  const db = t.world.deps.prisma;
  // 450 trainees waiting, submitted in batches of three at the same moment (ties), newest first in id
  await db.$executeRaw`
    INSERT INTO trainees (id, slug, state, first_names, last_name, date_of_birth, sex, training_route, provider_ukprn,
      itt_start_date, itt_end_date, course_subjects, document_hash, created_at, updated_at)
    SELECT gen_random_uuid(), 'paging-' || lpad(n::text, 4, '0'), 'submitted_for_trn', 'First', 'Last' || n, date '1990-01-01',
      'female', 'provider_led_postgrad', '10000001', date '2026-09-01', date '2027-07-31', ARRAY['100425'], md5(n::text), now(), now()
    FROM generate_series(1, ${PENDING}::int) AS n`;
  await db.$executeRaw`
    INSERT INTO trn_requests (id, trainee_id, request_id, active_trainee_id, state, submitted_at, deadline_at, created_at, updated_at)
    SELECT gen_random_uuid(), id, 'req-' || slug, CASE WHEN n % 5 = 0 THEN NULL ELSE id END,
      (CASE WHEN n % 5 = 0 THEN 'timed_out' WHEN n % 2 = 0 THEN 'pending' ELSE 'requested' END)::"TrnRequestState",
      timestamp '2026-11-01 09:00' + ((n / 3) * interval '1 minute'), timestamp '2026-12-01', now(), now()
    FROM (SELECT id, slug, substring(slug from 9)::int AS n FROM trainees WHERE slug LIKE 'paging-%') AS t`;
  // one trainee re-submitted: its first request superseded, then an older timed-out one that a newer one replaced
  await db.$executeRaw`
    INSERT INTO trn_requests (id, trainee_id, request_id, state, submitted_at, deadline_at, created_at, updated_at)
    SELECT gen_random_uuid(), id, 'old-' || slug, 'timed_out', timestamp '2026-01-01', timestamp '2026-02-01',
      now() - interval '1 day', now()
    FROM trainees WHERE slug = 'paging-0001'`;
  // a trainee whose TRN arrived: not pending
  await db.$executeRaw`UPDATE trn_requests SET state = 'received', active_trainee_id = NULL
    WHERE trainee_id = (SELECT id FROM trainees WHERE slug = 'paging-0450')`;
});
afterAll(async () => {
  await t.close();
});

const slugsOf = (body: string) =>
  load(body)("#pending-trns tbody tr")
    .map((_, row) => load(row)("tr").attr("data-slug"))
    .get();

describe("pending TRNs, page by page", () => {
  it("reaches every pending trainee once, oldest first, 200 a page, and walks back the same way", async () => {
    const expected = await t.world.deps.prisma.$queryRaw<{ slug: string }[]>`
      SELECT tr.slug FROM trn_requests r JOIN trainees tr ON tr.id = r.trainee_id
      WHERE r.request_id LIKE 'req-%' AND r.state <> 'received' ORDER BY r.submitted_at, r.id`;
    expect(expected).toHaveLength(PENDING - 1);

    const forwards: string[][] = [];
    const links: string[] = [];
    let location: string | undefined = "/admin/pending-trns";
    while (location) {
      const page = await viewer.get(location);
      expect(page.status).toBe(200);
      const $ = load(page.body);
      forwards.push(slugsOf(page.body));
      links.push(location);
      expect($("#previous-page").length).toBe(forwards.length === 1 ? 0 : 1);
      location = $("#next-page").attr("href");
      expect(forwards.length).toBeLessThan(10);
    }
    expect(forwards.map((page) => page.length)).toEqual([200, 200, 49]);
    expect(forwards.flat()).toEqual(expected.map((row) => row.slug));
    expect(forwards.flat()).not.toContain("paging-0450");

    // back from the last page through "Previous page": the same pages, in reverse
    const backwards: string[][] = [];
    let back: string | undefined = links[links.length - 1];
    while (back) {
      const $ = load((await viewer.get(back)).body);
      backwards.unshift(slugsOf($.html()));
      back = $("#previous-page").attr("href");
      expect(backwards.length).toBeLessThan(10);
    }
    expect(backwards).toEqual(forwards);
  });

  it("shows a trainee's latest request only", async () => {
    const all: string[] = [];
    let location: string | undefined = "/admin/pending-trns";
    while (location) {
      const page = await viewer.get(location);
      all.push(
        ...load(page.body)("#pending-trns code")
          .map((_, code) => load(code).text())
          .get(),
      );
      location = load(page.body)("#next-page").attr("href");
    }
    expect(all).toContain("req-paging-0001");
    expect(all).not.toContain("old-paging-0001");
  });

  it("answers 400 to a cursor it did not write", async () => {
    const forged = Buffer.from("not a time~00000000-0000-0000-0000-000000000000").toString("base64url");
    for (const query of [`after=${forged}`, "before=%%%", "after=abc", `after=${"A".repeat(500)}`]) {
      const page = await viewer.get(`/admin/pending-trns?${query}`);
      expect(page.status, query).toBe(400);
      expect(load(page.body)("#problem").text()).toMatch(/not understood|not valid UTF-8/);
    }
  });
});
