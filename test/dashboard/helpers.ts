/** A test world with dashboard accounts, and a got client that keeps cookies like a browser. */
import got, { type Method } from "got";
import { hashPassword } from "../../src/dashboard/auth.js";
import { createApp } from "../../src/web/app.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { movePendingTasks } from "../support/tasks.js";
import { traineeDoc } from "../support/documents.js";

export const accounts = {
  viewer: { name: "vera", password: "viewer-password-1" },
  support: { name: "sam", password: "support password 2" },
};

export const dashboardEnv = () => ({
  DASHBOARD_USERS: `${accounts.viewer.name}:viewer:${hashPassword(accounts.viewer.password)},${accounts.support.name}:support:${hashPassword(accounts.support.password)}`,
  SESSION_SECRET: "test-session-secret-0123456789",
});

export interface DashboardWorld {
  world: TestWorld;
  url: string;
  api: ReturnType<typeof client>;
  close(): Promise<void>;
}

export async function dashboardWorld(options: { now?: () => Date } = {}): Promise<DashboardWorld> {
  const world = await createTestWorld({ env: dashboardEnv(), ...options });
  const server = await serve(createApp(world.deps, world.queues));
  return {
    world,
    url: server.url,
    api: client(server.url),
    async close() {
      await server.close();
      await world.cleanup();
    },
  };
}

/** PUTs a trainee through the upstream API and returns its slug. */
export async function createTrainee(api: DashboardWorld["api"], overrides: Record<string, unknown> = {}): Promise<string> {
  const doc = traineeDoc(overrides);
  const response = await api.put(doc.slug, doc);
  if (response.status !== 201) throw new Error(`PUT trainee answered ${response.status}: ${JSON.stringify(response.body)}`);
  return doc.slug;
}

/** Marks the trainee's first task failed, as the job layer would after the last attempt. */
export async function failFirstTask(world: TestWorld, slug: string, errorClass = "api_unavailable") {
  const trainee = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug } });
  const task = await world.deps.prisma.syncTask.findFirstOrThrow({
    where: { traineeId: trainee.id },
    orderBy: [{ phase: "asc" }, { id: "asc" }],
  });
  await movePendingTasks(world.deps.prisma, { id: task.id }, "failed", {
    errorClass,
    httpStatus: 500,
    errorMessage: "POST /v3/trn-requests answered 500",
    attempts: 5,
    failedAt: new Date(),
  });
  return world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** got with a cookie jar of its own (tough-cookie is not a dependency) and no redirects followed. */
export class Session {
  readonly cookies = new Map<string, string>();
  constructor(readonly baseUrl: string) {}

  private jar = {
    getCookieString: async () => [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
    setCookie: async (raw: string) => {
      const [pair = "", ...attributes] = raw.split(";");
      const index = pair.indexOf("=");
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const maxAge = attributes.map((a) => /^\s*max-age=(-?\d+)/i.exec(a)?.[1]).find((v) => v !== undefined);
      if (maxAge !== undefined && Number(maxAge) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    },
  };

  async request(
    method: Method,
    path: string,
    options: {
      form?: Record<string, string | string[]>;
      json?: unknown;
      /** a form body sent byte for byte, as a hostile client may (not valid UTF-8, say) */
      rawForm?: string | Buffer;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> {
    const response = await got(`${this.baseUrl}${path}`, {
      method,
      headers: { accept: "text/html", ...options.headers },
      // repeated fields (ticked checkboxes) as a browser sends them
      ...(options.form
        ? {
            body: new URLSearchParams(
              Object.entries(options.form).flatMap(([key, value]): [string, string][] =>
                Array.isArray(value) ? value.map((v): [string, string] => [key, v]) : [[key, value]],
              ),
            ).toString(),
            headers: { accept: "text/html", "content-type": "application/x-www-form-urlencoded", ...options.headers },
          }
        : {}),
      ...(options.rawForm !== undefined
        ? {
            body: options.rawForm,
            headers: { accept: "text/html", "content-type": "application/x-www-form-urlencoded", ...options.headers },
          }
        : {}),
      ...(options.json !== undefined ? { json: options.json } : {}),
      cookieJar: this.jar,
      followRedirect: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request("GET", path, headers ? { headers } : {});
  }

  post(path: string, form: Record<string, string | string[]> = {}) {
    return this.request("POST", path, { form });
  }

  /** The sign-in form's own token (the form is fetched first, as a browser does). */
  async signInToken(): Promise<string> {
    const form = await this.get("/admin/login");
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
    if (!token) throw new Error(`no form token on /admin/login (status ${form.status})`);
    return token;
  }

  async login(account: { name: string; password: string }, next?: string): Promise<Answer> {
    const _csrf = await this.signInToken();
    return this.post("/admin/login", { _csrf, name: account.name, password: account.password, ...(next ? { next } : {}) });
  }

  /** The CSRF token of the current session, as every dashboard page carries it in its forms. */
  async csrf(): Promise<string> {
    const page = await this.get("/admin");
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no CSRF token on /admin (status ${page.status})`);
    return token;
  }
}

export async function signedIn(url: string, account: { name: string; password: string }): Promise<Session> {
  const session = new Session(url);
  const answer = await session.login(account);
  if (answer.status !== 303) throw new Error(`sign-in as ${account.name} answered ${answer.status}`);
  return session;
}
