/**
 * The page frame shared by every dashboard page (header, navigation, flash message, CSS) and the
 * small formatters the pages use. No client-side script at all: the CSP below forbids it.
 */
import type { Response } from "express";
import { errorClasses, type ErrorClass } from "../jobs/classify.js";
import { html, unsafe, type Html } from "./html.js";

export type Role = "viewer" | "support";

/** Who is looking at the page, and the token their forms must carry (see auth.ts). */
export interface Viewer {
  name: string;
  role: Role;
  csrf: string;
}

export interface Flash {
  kind: "success" | "error";
  text: string;
}

const css = `
*{box-sizing:border-box}
body{margin:0;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.4;color:#0b0c0c;background:#f3f2f1}
header{background:#0b0c0c;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center;border-bottom:8px solid #1d70b8}
header .title{font-weight:700;font-size:20px;color:#fff;text-decoration:none}
header nav{display:flex;gap:18px;flex:1}
header a{color:#fff}
header .who{font-size:14px;display:flex;gap:10px;align-items:center}
main{max-width:1200px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:30px;margin:10px 0 20px}
h2{font-size:22px;margin:32px 0 10px}
a{color:#1d70b8}
a:visited{color:#4c2c92}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:12px}
th,td{text-align:left;vertical-align:top;padding:7px 10px;border-bottom:1px solid #b1b4b6;font-size:15px}
th{background:#f8f8f8;font-weight:700}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 24px;background:#fff;padding:14px 18px;margin:0}
dt{font-weight:700}
dd{margin:0}
pre{margin:0;min-width:22em;max-width:40em;max-height:260px;overflow:auto;background:#f8f8f8;padding:8px;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
.flash{padding:12px 16px;margin-bottom:20px;border-left:6px solid #00703c;background:#fff}
.flash.error{border-color:#d4351c}
.tag{display:inline-block;padding:1px 8px;font-size:13px;font-weight:700;text-transform:uppercase;background:#e8f1f8;color:#0c2d4a}
.tag.failed,.tag.failure,.tag.timed_out{background:#f6d7d2;color:#942514}
.tag.succeeded,.tag.success,.tag.received{background:#cce2d8;color:#005a30}
.tag.pending,.tag.queued,.tag.running,.tag.retrying{background:#fff7bf;color:#594d00}
.muted{color:#505a5f}
.remediation{font-size:14px;color:#383f43;max-width:46em}
.actions{display:flex;gap:12px;flex-wrap:wrap;margin:10px 0}
form.inline{display:inline;margin:0}
button{font:inherit;font-size:15px;padding:6px 14px;border:0;border-radius:0;background:#00703c;color:#fff;box-shadow:0 2px 0 #002d18;cursor:pointer}
button.secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px 0 #929191;border:1px solid #b1b4b6}
header button{background:transparent;color:#fff;box-shadow:none;text-decoration:underline;padding:0}
label{display:block;font-weight:700;margin:14px 0 4px}
input[type=text],input[type=password]{font:inherit;padding:6px;width:100%;max-width:320px;border:2px solid #0b0c0c}
.login{background:#fff;max-width:420px;padding:20px 24px}
`;

function frame(options: { title: string; viewer?: Viewer; flash?: Flash | undefined; body: Html }): Html {
  const { viewer, flash } = options;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} – trs-sync support</title>
        <style>
          ${unsafe(css)}
        </style>
      </head>
      <body>
        <header>
          <a class="title" href="/admin">trs-sync support</a>
          ${
            viewer
              ? html`<nav><a href="/admin">Overview</a><a href="/admin/queues">Queues (Bull Board)</a></nav>
                  <div class="who">
                    <span>${viewer.name} (${viewer.role})</span>
                    <form class="inline" method="post" action="/admin/logout">
                      <input type="hidden" name="_csrf" value="${viewer.csrf}" /><button type="submit">Sign out</button>
                    </form>
                  </div>`
              : html`<nav></nav>`
          }
        </header>
        <main>${flash ? html`<div class="flash ${flash.kind}" role="status">${flash.text}</div>` : ""} ${options.body}</main>
      </body>
    </html>`;
}

/**
 * Sends a page. Pages show personal data: never cached; no scripts, frames or foreign resources.
 */
export function sendPage(
  res: Response,
  options: { status?: number; title: string; viewer?: Viewer; flash?: Flash | undefined; body: Html },
): void {
  res
    .status(options.status ?? 200)
    .set({
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy":
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
    })
    .send(frame(options).value);
}

/** A short page with a heading and one paragraph: 403, 404, 500 and friends. */
export function sendMessage(res: Response, options: { status: number; title: string; text: string; viewer?: Viewer }): void {
  sendPage(res, {
    ...options,
    body: html`<h1>${options.title}</h1>
      <p>${options.text}</p>
      <p><a href="/admin">Back to the overview</a></p>`,
  });
}

export function loginPage(options: { next: string; error?: string }): Html {
  return html`<h1>Sign in</h1>
    <form class="login" method="post" action="/admin/login">
      ${options.error ? html`<div class="flash error" role="alert">${options.error}</div>` : ""}
      <input type="hidden" name="next" value="${options.next}" />
      <label for="name">Name</label>
      <input type="text" id="name" name="name" autocomplete="username" required />
      <label for="password">Password</label>
      <input type="password" id="password" name="password" autocomplete="current-password" required />
      <p><button type="submit">Sign in</button></p>
    </form>`;
}

/** `2026-11-22 14:03:05 UTC`; times are stored in UTC and support staff compare them with logs. */
export function formatTime(date: Date | null | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace("T", " ")} UTC` : "";
}

/** A table cell with a time that does not wrap. */
export function timeCell(date: Date | null | undefined): Html {
  return html`<td class="time">${formatTime(date)}</td>`;
}

export function formatDay(date: Date | null | undefined): string {
  return date ? date.toISOString().slice(0, 10) : "";
}

export function tag(value: string): Html {
  return html`<span class="tag ${value}">${value.replaceAll("_", " ")}</span>`;
}

/** A hidden CSRF field plus one button, posting to `action`. */
export function postButton(options: { action: string; label: string; viewer: Viewer; secondary?: boolean }): Html {
  return html`<form class="inline" method="post" action="${options.action}">
    <input type="hidden" name="_csrf" value="${options.viewer.csrf}" /><button
      type="submit"
      ${options.secondary ? html` class="secondary"` : ""}
    >
      ${options.label}
    </button>
  </form>`;
}

/** Title and remediation of a stored error class; a name this version no longer knows shows as itself. */
export function errorClassInfo(name: string | null): ErrorClass | undefined {
  if (!name) return undefined;
  return errorClasses.find((c) => c.name === name) ?? { name, title: name, kind: "permanent", remediation: "" };
}
