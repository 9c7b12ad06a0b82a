/**
 * The SLI, error-budget and burn-rate arithmetic, written once for every SLI type: a type supplies
 * its counts per window and how a window's counts turn into a burn rate (a ratio of bad events, or
 * a count against an allowance); everything after that — the window pairs, the minimum-event guard,
 * the short-window fallback, budget left, period burn rate, severity and the keep-firing hold —
 * happens here.
 */
import { createHash } from 'node:crypto';
import { durationParam, guardOf, windowsOf } from './params';
import type { EvaluationResult, SloDefinition, SloStatus, SloTarget, WindowResult } from './types';
import { round, type AlertWindow, type Severity } from './windows';

export const DAY_SECONDS = 86_400;

/** Events and bad events in one window. */
export interface WindowCounts {
	events: number;
	bad: number;
}

/** Turns a window's counts into a burn rate (1 = spending the budget exactly over the period). */
export type BurnFunction = (bad: number, events: number, seconds: number) => number;

/** Burn of a ratio SLI: the share of bad events over the share the objective allows. */
export function ratioBurn(objective: number): BurnFunction {
	const budget = 1 - objective;
	return (bad, events) => (events > 0 ? bad / events / budget : 0);
}

/** Burn of a count budget: bad events in the window over the events allowed in it at `perDay`. */
export function countBurn(perDay: number): BurnFunction {
	return (bad, _events, seconds) => bad / ((perDay * seconds) / DAY_SECONDS);
}

/** Budget left and period burn rate of `spent` against `allowed` (in any one unit). */
export function budgetFigures(spent: number, allowed: number): Pick<SloStatus, 'errorBudgetRemaining' | 'periodBurnRate'> {
	return { errorBudgetRemaining: round(1 - spent / allowed, 6), periodBurnRate: round(spent / allowed, 4) };
}

/** SLI, budget left and period burn of a ratio SLI (null without events). */
export function ratioFigures(period: WindowCounts, objective: number): Pick<SloStatus, 'sli' | 'errorBudgetRemaining' | 'periodBurnRate'> {
	if (period.events === 0) return { sli: null, errorBudgetRemaining: null, periodBurnRate: null };
	return { sli: goodShare(period), ...budgetFigures(period.bad / period.events, 1 - objective) };
}

/** Good events / events (null without events). */
export function goodShare(period: WindowCounts): number | null {
	return period.events > 0 ? round(1 - period.bad / period.events, 6) : null;
}

/** Every window length an SLO reads: its period, a day, and both windows of each pair. */
export function windowSecondsOf(slo: SloDefinition): number[] {
	return [slo.periodSeconds, DAY_SECONDS, ...windowsOf(slo).flatMap((w) => [w.longSeconds, w.shortSeconds])];
}

/**
 * One burn-rate pair. The short window falls back to the latest finished event when it holds none
 * (`fallback`), because runs are sparse next to a scaled 70-second window: without it a connector
 * running every five minutes could never satisfy the short window, and with it a single success
 * resets the alert at once.
 */
export function windowResult(
	w: AlertWindow,
	counts: (seconds: number) => WindowCounts,
	burn: BurnFunction,
	latestBad: boolean | null,
	guard: { minEvents: number; minBad: number },
	fallback: boolean,
): WindowResult {
	const long = counts(w.longSeconds);
	const short = counts(w.shortSeconds);
	let shortBurn = burn(short.bad, short.events, w.shortSeconds);
	const shortFromLatest = fallback && short.events === 0 && latestBad !== null;
	if (shortFromLatest) shortBurn = burn(latestBad ? 1 : 0, 1, w.shortSeconds);
	const longBurn = burn(long.bad, long.events, w.longSeconds);
	// The minimum-event guard: too few events in the long window, or a single bad one, never fire.
	// (For a connector running every 5 minutes one failure is ~6% of a scaled 1h24m window — just
	// over the 6× threshold — and must not page anyone by itself.)
	const guarded = long.events < guard.minEvents || long.bad < guard.minBad;
	return {
		...w,
		longEvents: long.events,
		longBad: long.bad,
		shortEvents: short.events,
		shortBad: short.bad,
		longBurnRate: round(longBurn, 4),
		shortBurnRate: round(shortBurn, 4),
		shortFromLatest,
		guarded,
		firing: !guarded && longBurn > w.factor && shortBurn > w.factor,
	};
}

/** Every window pair of an SLO, measured. */
export function burnWindows(
	slo: SloDefinition,
	counts: (seconds: number) => WindowCounts,
	burn: BurnFunction,
	latestBad: boolean | null,
	fallback: boolean,
): WindowResult[] {
	const guard = guardOf(slo);
	return windowsOf(slo).map((w) => windowResult(w, counts, burn, latestBad, guard, fallback));
}

export function worstSeverity(windows: WindowResult[]): Severity | null {
	if (windows.some((w) => w.firing && w.severity === 'page')) return 'page';
	if (windows.some((w) => w.firing && w.severity === 'ticket')) return 'ticket';
	return null;
}

/**
 * The status of a burn-rate SLI: the worst firing severity, else ok (or no_data without events in
 * the period), with the period's counts and budget figures.
 */
export function windowedStatus(
	base: SloStatus,
	windows: WindowResult[],
	period: WindowCounts,
	figures: Pick<SloStatus, 'sli' | 'errorBudgetRemaining' | 'periodBurnRate'>,
	noDataReason: string,
): SloStatus {
	const status: SloStatus = {
		...base,
		status: worstSeverity(windows) ?? (period.events === 0 ? 'no_data' : 'ok'),
		events: period.events,
		badEvents: period.bad,
		...figures,
		windows,
	};
	if (status.status === 'no_data') status.reason = noDataReason;
	return status;
}

/** Both severities fire when a page condition holds (the page inhibits the ticket in alertState.ts). */
export function firingSeverities(windows: WindowResult[]): Severity[] {
	const out: Severity[] = [];
	if (windows.some((w) => w.firing && w.severity === 'page')) out.push('page');
	if (windows.some((w) => w.firing && w.severity === 'ticket')) out.push('ticket');
	return out;
}

/** Sorted identifying labels → a stable hex id (Alertmanager's fingerprint idea: annotations are not identity). */
export function fingerprintOf(labels: Record<string, string>): string {
	const canonical = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
	return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export function burnIdentity(slo: SloDefinition, t: SloTarget, severity: Severity): Record<string, string> {
	return { alertname: 'SLOBurnRate', slo: slo.codeName, severity, [`${t.kind}_id`]: t.id };
}

/**
 * How long a burn-rate alert keeps firing once both windows of every pair of its severity are back
 * under the factor (Prometheus' keep_firing_for): params.keep_firing_for, else the longest short
 * window of that severity but at least 15 minutes.
 */
export function holdSeconds(slo: SloDefinition, status: SloStatus, severity: Severity): number {
	const configured = durationParam(slo, 'keep_firing_for', null);
	if (configured !== null) return configured;
	return Math.max(15 * 60, ...status.windows.filter((w) => w.severity === severity).map((w) => w.shortSeconds));
}

/**
 * Burn-rate alerts of a target whose condition is off while a window of their severity still burns
 * above its factor (long or short): an incident is not over while its long window burns, so a
 * firing alert stays open through the gaps of a burst instead of resolving and paging again.
 */
export function burningFingerprints(slo: SloDefinition, status: SloStatus): EvaluationResult['burning'] {
	const firing = new Set(firingSeverities(status.windows));
	const out: EvaluationResult['burning'] = [];
	for (const severity of ['page', 'ticket'] as const) {
		if (firing.has(severity)) continue;
		if (status.windows.some((w) => w.severity === severity && (w.longBurnRate > w.factor || w.shortBurnRate > w.factor))) {
			out.push({ fingerprint: fingerprintOf(burnIdentity(slo, status.target, severity)), keepFiringForSeconds: holdSeconds(slo, status, severity) });
		}
	}
	return out;
}
