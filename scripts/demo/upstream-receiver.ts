/**
 * The demo's stand-in for the upstream application's webhook endpoint (when UPSTREAM_WEBHOOK_URL
 * is not given): verifies each event's signature with the documented recipe and prints one line
 * per event, so the demo shows what the upstream application would be told.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyUpstreamWebhook } from "../../src/clients/upstream-webhooks.js";

export async function startDemoReceiver(options: { say: (line: string) => void }): Promise<{
  url: string;
  secret: string;
  close(): Promise<void>;
}> {
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (!verifyUpstreamWebhook({ secret, headers: req.headers, body })) {
        options.say(`upstream event refused: bad signature (${String(req.headers["webhook-id"])})`);
        res.writeHead(401).end();
        return;
      }
      const event = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      const { slug, ...rest } = event.data;
      const details = Object.entries(rest)
        .filter(([key, value]) => value !== null && !["title", "remediation", "message"].includes(key))
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(" ");
      options.say(`upstream event ${event.type.padEnd(15)} ${String(slug)}  ${details}`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    secret,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
