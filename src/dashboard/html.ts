/**
 * A tiny escaping template for server-rendered pages: every value interpolated into `html\`…\`` is
 * HTML-escaped unless it is already-built Html (another `html` result, or `unsafe()` for markup
 * built elsewhere). Trainee names, error messages and API responses are untrusted text.
 */

/** Markup that is safe to emit as-is. Only `html` and `unsafe` create it. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!);
}

/** The escape hatch: for markup that was built (and escaped) elsewhere. Never for input. */
export function unsafe(markup: string): Html {
  return new Html(markup);
}

/** null, undefined and false render as nothing; arrays render each item; Html as-is; the rest escaped. */
function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}
