/**
 * The multi-window, multi-burn-rate catalog (Google SRE workbook ch. 5, table 5-8, as Sloth ships
 * it in google-30d.yaml) and its scaling to an SLO's own period.
 *
 * The catalog is written for a 30-day period. An SLO over 7 days scales every window by 7/30
 * (as Pyrra scales its windows to the SLO window), and the burn factor is computed the way Sloth's
 * getBurnRateFactor does — budget% × period / long window — so each pair still means "this much of
 * the budget was spent in the long window": 14.4 (2%), 6 (5%), 1 (10%).
 */

export type Severity = 'page' | 'ticket';

export interface AlertWindowSpec {
	name: string;
	severity: Severity;
	/** Share of the period's error budget that firing means was spent, in percent. */
	budgetPercent: number;
	/** Window lengths in seconds, for the catalog's reference period. */
	longSeconds: number;
	shortSeconds: number;
}

export interface AlertWindow {
	name: string;
	severity: Severity;
	budgetPercent: number;
	longSeconds: number;
	shortSeconds: number;
	/** Burn rate both windows must exceed. */
	factor: number;
}

const HOUR = 3600;
export const CATALOG_PERIOD_SECONDS = 30 * 24 * HOUR;

export const GOOGLE_WINDOWS: readonly AlertWindowSpec[] = [
	{ name: 'page-quick', severity: 'page', budgetPercent: 2, longSeconds: 1 * HOUR, shortSeconds: 5 * 60 },
	{ name: 'page-slow', severity: 'page', budgetPercent: 5, longSeconds: 6 * HOUR, shortSeconds: 30 * 60 },
	{ name: 'ticket-slow', severity: 'ticket', budgetPercent: 10, longSeconds: 72 * HOUR, shortSeconds: 6 * HOUR },
];

/** Sloth's getBurnRateFactor: hoursRequired = budget% × period / 100; factor = hoursRequired / long window. */
export function burnRateFactor(budgetPercent: number, periodSeconds: number, longSeconds: number): number {
	return ((budgetPercent / 100) * periodSeconds) / longSeconds;
}

/** The catalog scaled to a period (windows rounded to whole seconds; factors from the scaled windows). */
export function scaledWindows(periodSeconds: number, catalog: readonly AlertWindowSpec[] = GOOGLE_WINDOWS): AlertWindow[] {
	const scale = periodSeconds / CATALOG_PERIOD_SECONDS;
	return catalog.map((w) => {
		const longSeconds = Math.max(60, Math.round(w.longSeconds * scale));
		const shortSeconds = Math.max(1, Math.min(longSeconds, Math.round(w.shortSeconds * scale)));
		return {
			name: w.name,
			severity: w.severity,
			budgetPercent: w.budgetPercent,
			longSeconds,
			shortSeconds,
			factor: round(burnRateFactor(w.budgetPercent, periodSeconds, longSeconds), 4),
		};
	});
}

/** A user-supplied catalog (params.alert_windows): [{name, severity, budget_percent, long, short}] with intervals. */
export function catalogFromParams(value: unknown): AlertWindowSpec[] | undefined {
	if (value === undefined || value === null) return undefined;
	if (!Array.isArray(value) || value.length === 0) throw new Error('params.alert_windows must be a non-empty array');
	return value.map((raw, i) => {
		if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`params.alert_windows[${i}] must be an object {name, severity, budget_percent, long, short}`);
		const w = raw as Record<string, unknown>;
		const severity = w.severity;
		if (severity !== 'page' && severity !== 'ticket') throw new Error(`params.alert_windows[${i}].severity must be "page" or "ticket"`);
		const budgetPercent = numeric(w.budget_percent);
		if (!(budgetPercent > 0 && budgetPercent <= 100)) throw new Error(`params.alert_windows[${i}].budget_percent must be in (0, 100]`);
		const longSeconds = parseDuration(w.long, `params.alert_windows[${i}].long`);
		const shortSeconds = parseDuration(w.short, `params.alert_windows[${i}].short`);
		if (shortSeconds > longSeconds) throw new Error(`params.alert_windows[${i}]: the short window is longer than the long one`);
		return { name: String(w.name ?? `${severity}-${i}`), severity, budgetPercent, longSeconds, shortSeconds };
	});
}

const NUMERIC_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A JSON number, or a text holding a decimal number; anything else is NaN (no hex, no booleans). */
export function numeric(value: unknown): number {
	if (typeof value === 'number') return value;
	if (typeof value === 'string' && NUMERIC_TEXT.test(value)) return Number(value);
	return NaN;
}

const UNITS: Record<string, number> = {
	s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
	m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
	h: HOUR, hr: HOUR, hrs: HOUR, hour: HOUR, hours: HOUR,
	d: 24 * HOUR, day: 24 * HOUR, days: 24 * HOUR,
	w: 7 * 24 * HOUR, week: 7 * 24 * HOUR, weeks: 7 * 24 * HOUR,
};

/** "5m", "1h30m", "4 hours", "7 days", or a number of seconds. */
export function parseDuration(value: unknown, what = 'duration'): number {
	if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
	if (typeof value !== 'string' || value.trim() === '') throw new Error(`${what} must be a duration such as "5m", "6 hours" or "3d"`);
	const text = value.trim().toLowerCase();
	if (/^\d+(\.\d+)?$/.test(text)) {
		if (Number(text) <= 0) throw new Error(`${what} must be longer than zero`);
		return Number(text);
	}
	let total = 0;
	let rest = text;
	const part = /^(\d+(?:\.\d+)?)\s*([a-z]+)\s*/;
	while (rest.length > 0) {
		const match = part.exec(rest);
		if (!match || UNITS[match[2]] === undefined) throw new Error(`${what} "${value}" is not a duration such as "5m", "6 hours" or "3d"`);
		total += Number(match[1]) * UNITS[match[2]];
		rest = rest.slice(match[0].length);
	}
	if (total <= 0) throw new Error(`${what} must be longer than zero`);
	return total;
}

/** "1h10m" style, for messages. */
export function formatDuration(seconds: number): string {
	const s = Math.round(seconds);
	if (s < 60) return `${s}s`;
	const d = Math.floor(s / 86400);
	const h = Math.floor((s % 86400) / 3600);
	const m = Math.floor((s % 3600) / 60);
	const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].filter(Boolean);
	return parts.join('') || `${s}s`;
}

export function round(value: number, digits: number): number {
	const f = 10 ** digits;
	return Math.round(value * f) / f;
}
