/** Starts an Express app on a random local port. */
import { createServer, type Server } from "node:http";
import type { Express } from "express";
import got from "got";

export async function serve(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function client(baseUrl: string, token = "test-token") {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    // got, not fetch: nock's fetch interception misbehaves on Node 20
    const response = await got(`${baseUrl}${path}`, {
      method: method as "GET",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      throwHttpErrors: false,
      retry: { limit: 0 },
    });
    const text = response.body;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.statusCode, body: (text ? JSON.parse(text) : null) as any };
  };
  return {
    put: (slug: string, doc: unknown, headers?: Record<string, string>) => call("PUT", `/api/v1/trainees/${slug}`, doc, headers),
    get: (slug: string) => call("GET", `/api/v1/trainees/${slug}`),
    timeline: (slug: string) => call("GET", `/api/v1/trainees/${slug}/timeline`),
    call,
  };
}
