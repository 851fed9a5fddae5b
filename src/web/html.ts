// SPDX-License-Identifier: Apache-2.0
// HTML that escapes by default: every value interpolated into an html`…` template is escaped
// unless it is itself Html (made by this module). Pages are built only from these templates,
// so no value — a project summary, a file name, a query — reaches the page unescaped. The one
// exception is a rendered description, which the sanitizer in src/web/description/ made.
import type { DescriptionHtml } from './description/render.js';

/** A fragment of markup that is already safe to send. Only this module makes them. */
export class Html {
  #markup: string;
  private constructor(markup: string) {
    this.#markup = markup;
  }
  /** @internal */
  static trusted(markup: string): Html {
    return new Html(markup);
  }
  toString(): string {
    return this.#markup;
  }
}

export type Renderable = Html | string | number | boolean | null | undefined | readonly Renderable[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function render(value: Renderable): string {
  if (value instanceof Html) return value.toString();
  if (value === null || value === undefined || value === false || value === true) return '';
  if (Array.isArray(value)) return (value as readonly Renderable[]).map(render).join('');
  return escapeHtml(String(value as string | number));
}

/** A description rendered by src/web/description/ (sanitized, or escaped text), sent as it is. */
export function descriptionMarkup(markup: DescriptionHtml): Html {
  return Html.trusted(markup);
}

/**
 * A QR code as the `qrcode` library writes SVG (src/accounts/totp.ts): checked to be exactly
 * that shape — one svg element with a viewBox and two paths of drawing commands — so nothing
 * else can pass as trusted markup. Gets an accessible name and a display size.
 * @throws Error when the markup is anything else
 */
export function qrCodeMarkup(svg: string, label: string): Html {
  const m = /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" (viewBox="0 0 [0-9]+ [0-9]+" shape-rendering="crispEdges")>(<path fill="#ffffff" d="[MHVhvmz0-9. -]*"\/><path stroke="#000000" d="[MHVhvmz0-9. -]*"\/>)<\/svg>\n?$/.exec(svg);
  if (!m) throw new Error('not a QR code as the qrcode library draws it');
  return Html.trusted(`<svg xmlns="http://www.w3.org/2000/svg" class="qr" width="232" height="232" role="img" aria-label="${escapeHtml(label)}" ${m[1]}>${m[2]}</svg>`);
}

/** Tagged template: the literal parts are markup, every interpolated value is escaped. */
export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return Html.trusted(out);
}

/** Joins fragments (each escaped unless already Html). */
export function join(parts: readonly Renderable[], separator: Html | string = ''): Html {
  return Html.trusted(parts.map(render).join(render(separator)));
}

/**
 * A path on this site for a `?next=` redirect: only absolute paths on the same origin
 * ("/x", not "//host" or "/\host" or "https://…"), else the fallback.
 */
export function safeLocalPath(next: unknown, fallback: string): string {
  if (typeof next !== 'string' || next.length > 500) return fallback;
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(next)) return fallback;
  return next;
}

/** Bytes in a human unit, with the exact count kept for the title. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** A date as "2025-01-31 14:05 UTC" (pages are server-rendered, so no local time zone). */
export function formatDate(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
