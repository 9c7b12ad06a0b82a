/**
 * Just enough of cron to know how often a connector is expected to run: the longest gap between
 * two consecutive fire times of a 5-field expression (minute hour day-of-month month day-of-week,
 * with `*`, lists, ranges, steps and month/day names, as the dispatcher and n8n's Schedule
 * Trigger accept them). Freshness and "absent" thresholds are derived from that gap, so a connector
 * that runs every 15 minutes is stale after half an hour while a nightly one is not.
 */

export class CronError extends Error {}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const MACROS: Record<string, string> = {
	'@yearly': '0 0 1 1 *',
	'@annually': '0 0 1 1 *',
	'@monthly': '0 0 1 * *',
	'@weekly': '0 0 * * 0',
	'@daily': '0 0 * * *',
	'@midnight': '0 0 * * *',
	'@hourly': '0 * * * *',
};

interface Field {
	values: Set<number>;
	star: boolean;
}

function parseField(text: string, min: number, max: number, names: string[] = [], nameBase = 0): Field {
	const values = new Set<number>();
	const star = text === '*' || text === '?';
	const value = (token: string): number => {
		const index = names.indexOf(token.toLowerCase());
		const n = index >= 0 ? index + nameBase : Number(token);
		if (!Number.isInteger(n)) throw new CronError(`"${token}" is not a number or name`);
		return n;
	};
	for (const part of text.split(',')) {
		const [range, stepText] = part.split('/');
		const step = stepText === undefined ? 1 : Number(stepText);
		if (!Number.isInteger(step) || step <= 0) throw new CronError(`bad step in "${part}"`);
		let from: number;
		let to: number;
		if (range === '*' || range === '?') {
			from = min;
			to = max;
		} else if (range.includes('-')) {
			const [a, b] = range.split('-');
			from = value(a);
			to = value(b);
		} else {
			from = value(range);
			to = stepText === undefined ? from : max;
		}
		if (from < min || to > max || from > to) throw new CronError(`"${part}" is outside ${min}-${max}`);
		for (let v = from; v <= to; v += step) values.add(v);
	}
	return { values, star };
}

export interface CronSchedule {
	matches(date: Date): boolean;
	/** The latest fire time at or before `at` (UTC, whole minutes), or null if none within `horizonDays`. */
	lastFireAtOrBefore(at: Date, horizonDays?: number): Date | null;
}

/** Parses a 5-field cron expression (a 6-field one with leading seconds is accepted; seconds are ignored). */
export function parseCron(expression: string): CronSchedule {
	let text = expression.trim().replace(/\s+/g, ' ');
	text = MACROS[text.toLowerCase()] ?? text;
	let fields = text.split(' ');
	if (fields.length === 6) fields = fields.slice(1);
	if (fields.length !== 5) throw new CronError(`"${expression}" is not a 5-field cron expression`);
	const minute = parseField(fields[0], 0, 59);
	const hour = parseField(fields[1], 0, 23);
	const dom = parseField(fields[2], 1, 31);
	const month = parseField(fields[3], 1, 12, MONTHS, 1);
	const dowRaw = parseField(fields[4], 0, 7, DAYS, 0);
	const dow = new Set([...dowRaw.values].map((d) => d % 7));
	const dayMatches = (date: Date): boolean => {
		if (!month.values.has(date.getUTCMonth() + 1)) return false;
		const domOk = dom.values.has(date.getUTCDate());
		const dowOk = dow.has(date.getUTCDay());
		// Vixie cron: when both day fields are restricted, either one matching is enough.
		if (!dom.star && !dowRaw.star) return domOk || dowOk;
		return domOk && dowOk;
	};
	const hoursDesc = [...hour.values].sort((a, b) => b - a);
	const minutesDesc = [...minute.values].sort((a, b) => b - a);
	return {
		matches(date: Date): boolean {
			return minute.values.has(date.getUTCMinutes()) && hour.values.has(date.getUTCHours()) && dayMatches(date);
		},
		lastFireAtOrBefore(at: Date, horizonDays = 400): Date | null {
			// Day by day backwards, then the latest hour and minute of that day not after `at`:
			// at most `horizonDays` steps even for a yearly schedule.
			const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
			for (let d = 0; d <= horizonDays; d++, day.setUTCDate(day.getUTCDate() - 1)) {
				if (!dayMatches(day)) continue;
				const limit = d === 0 ? at.getUTCHours() * 60 + at.getUTCMinutes() : 24 * 60 - 1;
				for (const h of hoursDesc) {
					if (h * 60 > limit) continue;
					const m = minutesDesc.find((candidate) => h * 60 + candidate <= limit);
					if (m !== undefined) return new Date(day.getTime() + (h * 60 + m) * 60_000);
				}
			}
			return null;
		},
	};
}

/**
 * The longest gap, in seconds, between consecutive fire times over the 35 days after `from`
 * (long enough to see weekly and most monthly patterns). Null for an expression that never fires.
 */
export function maxCronGapSeconds(expression: string, from = new Date(Date.UTC(2026, 0, 1))): number | null {
	const schedule = parseCron(expression);
	const start = Math.floor(from.getTime() / 60_000) * 60_000;
	const minutes = 35 * 24 * 60;
	let first: number | null = null;
	let last: number | null = null;
	let maxGap = 0;
	const probe = new Date(0);
	for (let i = 0; i < minutes; i++) {
		const t = start + i * 60_000;
		probe.setTime(t);
		if (!schedule.matches(probe)) continue;
		if (last !== null) maxGap = Math.max(maxGap, t - last);
		if (first === null) first = t;
		last = t;
	}
	if (first === null || last === null) return null;
	// A single fire time in the horizon (e.g. yearly): the gap is at least the horizon itself.
	if (first === last) return minutes * 60;
	return maxGap / 1000;
}
