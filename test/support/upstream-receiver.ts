/** A stand-in for the upstream application's webhook endpoint: verifies and records every delivery. */
import express from "express";
import { verifyUpstreamWebhook } from "../../src/clients/upstream-webhooks.js";
import { serve } from "./http.js";

export const receiverSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export interface Delivery {
  id: string;
  type: string;
  slug: string;
  data: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface UpstreamReceiver {
  url: string;
  /** deliveries answered 200, in arrival order (a duplicate id would appear twice) */
  accepted: Delivery[];
  /** requests whose signature did not verify (answered 401) */
  rejected: number;
  /** requests answered 503 while down */
  refused: number;
  /** while down, every request is answered 503 */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startUpstreamReceiver(secret = receiverSecret): Promise<UpstreamReceiver> {
  let down = false;
  const app = express();
  const receiver: UpstreamReceiver = {
    url: "",
    accepted: [],
    rejected: 0,
    refused: 0,
    setDown: (value) => (down = value),
    close: async () => {},
  };
  app.post("/events", express.text({ type: "*/*" }), (req, res) => {
    if (down) {
      receiver.refused++;
      res.status(503).send("down");
      return;
    }
    const body = req.body as string;
    if (!verifyUpstreamWebhook({ secret, headers: req.headers, body })) {
      receiver.rejected++;
      res.status(401).send("bad signature");
      return;
    }
    const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> & { slug: string } };
    receiver.accepted.push({
      id: String(req.headers["webhook-id"]),
      type: parsed.type,
      slug: parsed.data.slug,
      data: parsed.data,
      headers: req.headers,
      body,
    });
    res.status(204).end();
  });
  const server = await serve(app);
  receiver.url = `${server.url}/events`;
  receiver.close = server.close;
  return receiver;
}
