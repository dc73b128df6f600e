/**
 * Posts alerts to a Slack incoming webhook: Block Kit text with a plain-text fallback. Retries are
 * the alerts queue's job, so got's own retry is off.
 */
import got from "got";

export interface SlackMessage {
  /** plain-text fallback, shown in notifications */
  text: string;
  /** optional link shown as a button-like line */
  link?: { url: string; label: string };
}

export class SlackError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "SlackError";
  }
}

export interface SlackClient {
  post(message: SlackMessage): Promise<void>;
}

export function slackPayload(message: SlackMessage) {
  const blocks: unknown[] = [{ type: "section", text: { type: "mrkdwn", text: `:hourglass: ${escapeMrkdwn(message.text)}` } }];
  if (message.link) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `<${message.link.url}|${escapeMrkdwn(message.link.label)}>` }] });
  }
  return { text: message.text, blocks };
}

const escapeMrkdwn = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function createSlackClient(options: { webhookUrl: string; timeoutMs?: number }): SlackClient {
  return {
    async post(message) {
      let response;
      try {
        response = await got.post(options.webhookUrl, {
          json: slackPayload(message),
          retry: { limit: 0 },
          throwHttpErrors: false,
          timeout: { request: options.timeoutMs ?? 10_000 },
        });
      } catch (error) {
        throw new SlackError(`Slack webhook unreachable (${(error as { code?: string }).code ?? "error"})`, 0);
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        // Slack answers e.g. 404 no_team, 403 invalid_token, 429 with Retry-After, 5xx.
        throw new SlackError(`Slack webhook answered ${response.statusCode} ${String(response.body).slice(0, 100)}`, response.statusCode);
      }
    },
  };
}
