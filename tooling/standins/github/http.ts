// Shared request-handling pieces: errors, parameter validation and Link-header pagination.
import type { Renderer } from './render';
import type { Store, TokenRec } from './store';

export const DOCS = 'https://docs.github.com/rest';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): Record<string, unknown> {
    return { message: this.message, ...this.extra, documentation_url: (this.extra.documentation_url as string) ?? DOCS, status: String(this.status) };
  }
}

export interface Ctx {
  store: Store;
  render: Renderer;
  token: TokenRec | null;
  path: string;
  query: URLSearchParams;
  baseUrl: string;
  now: number;
}

export interface Result {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** 422 in GitHub's "Validation Failed" shape (errors[] with resource/field/code). */
export function invalid(resource: string, field: string, value: string): ApiError {
  return new ApiError(422, 'Validation Failed', {
    errors: [{ resource, field, code: 'invalid', value, message: `${field} is not a valid value: ${JSON.stringify(value)}` }],
  });
}

export function enumParam<T extends string>(ctx: Ctx, name: string, allowed: readonly T[], dflt: T | undefined, resource: string): T | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw invalid(resource, name, v);
  return v as T;
}

// GitHub documents timestamps as ISO 8601 `YYYY-MM-DDTHH:MM:SSZ`; a bare date is accepted as midnight UTC.
const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseIsoOrNull(s: string): number | null {
  if (!ISO_RE.test(s)) return null;
  const withZone = /T/.test(s) && !/(Z|[+-]\d{2}:?\d{2})$/.test(s) ? `${s}Z` : s;
  const ms = Date.parse(withZone);
  return Number.isFinite(ms) ? ms : null;
}

export function dateParam(ctx: Ctx, name: string, resource: string): number | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  const ms = parseIsoOrNull(v);
  if (ms === null) throw invalid(resource, name, v);
  return ms;
}

function intParam(ctx: Ctx, name: string, dflt: number, resource: string): number {
  const v = ctx.query.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(resource, name, v);
  return Number(v);
}

/** Compare helper for sorting with a deterministic tiebreak. */
export function byKey<T>(key: (x: T) => number | string, dir: 'asc' | 'desc', tie: (x: T) => number): (a: T, b: T) => number {
  const s = dir === 'asc' ? 1 : -1;
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka < kb) return -s;
    if (ka > kb) return s;
    return (tie(a) - tie(b)) * s;
  };
}

/**
 * Page/per_page pagination (per_page default 30, max 100 — larger values are clamped, as documented
 * "max 100") with a Link header carrying prev/next/last/first; omitted when everything fits on one page.
 */
export function paginate<T>(ctx: Ctx, items: T[], render: (pageItems: T[], total: number) => unknown, resource: string): Result {
  const perPage = Math.min(100, intParam(ctx, 'per_page', 30, resource));
  const page = intParam(ctx, 'page', 1, resource);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const headers: Record<string, string> = {};
  if (last > 1 || page > 1) {
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(ctx.query);
      q.set('page', String(p));
      return `<${ctx.baseUrl}${ctx.path}?${q.toString()}>; rel="${rel}"`;
    };
    const parts: string[] = [];
    if (page > 1) parts.push(link(page - 1, 'prev'));
    if (page < last) parts.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) parts.push(link(1, 'first'));
    headers.link = parts.join(', ');
  }
  return { status: 200, body: render(slice, items.length), headers };
}
