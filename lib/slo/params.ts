/**
 * The rules for an SLO's params, in one place: the Set SLO operation refuses what breaks them, the
 * evaluator skips (and reports) a stored row that breaks them, and the database CHECK
 * (ipai_meta.slo_params_problem, migrations/20261122000900_slo.sql) applies the same rules to plain SQL.
 * test/integration/sloDefinitions.test.ts holds the two to the same answers.
 *
 * Below the rules, the readers every SLI uses to take a value out of params with its default.
 */
import type { SloDefinition } from './types';
import { catalogFromParams, numeric, parseDuration, scaledWindows, type AlertWindow, type Severity } from './windows';

export class SloDefinitionError extends Error {}


export const NUMERIC_PARAMS = [
	'min_events', 'min_bad_events', 'absent_factor', 'warn_factor', 'page_factor', 'max_failures_per_day', 'threshold_ms',
	'warn_fraction', 'min_run_events', 'warning_runs', 'max_lag_bytes',
] as const;
export const DURATION_PARAMS = [
	'grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval', 'ticket_repeat_interval', 'run_window',
	'keep_firing_for', 'max_lag',
] as const;
export const SEVERITY_PARAMS = ['absent_severity', 'exhausted_severity', 'run_severity'] as const;
export const OTHER_PARAMS = ['alert_windows', 'agent_code_name'] as const;
export const KNOWN_PARAMS: readonly string[] = [...NUMERIC_PARAMS, ...DURATION_PARAMS, ...SEVERITY_PARAMS, ...OTHER_PARAMS];

/** What is wrong with a params object: the field (as `params.x`) and why. */
export interface ParamProblem {
	field: string;
	message: string;
}

const absent = (v: unknown) => v === undefined || v === null;


/**
 * The first problem of a params object, or null. Numbers may be JSON numbers or numeric strings
 * (what Number() reads), durations a positive number of seconds or a text such as "5m".
 */
export function paramsProblem(params: unknown): ParamProblem | null {
	if (typeof params !== 'object' || params === null || Array.isArray(params)) return { field: 'params', message: 'params must be a JSON object' };
	const p = params as Record<string, unknown>;
	const unknown = Object.keys(p).filter((k) => !KNOWN_PARAMS.includes(k)).sort();
	if (unknown.length) {
		return { field: `params.${unknown[0]}`, message: `params.${unknown[0]} is not a known parameter (known: ${KNOWN_PARAMS.join(', ')})` };
	}
	for (const key of NUMERIC_PARAMS) {
		if (absent(p[key])) continue;
		const n = numeric(p[key]);
		if (!Number.isFinite(n) || n < 0) return { field: `params.${key}`, message: `params.${key} must be a non-negative number` };
	}
	if (!absent(p.warn_fraction) && numeric(p.warn_fraction) > 1) {
		return { field: 'params.warn_fraction', message: 'params.warn_fraction is a share of the daily budget between 0 (no warning) and 1, e.g. 0.8' };
	}
	if (!absent(p.max_failures_per_day) && numeric(p.max_failures_per_day) <= 0) {
		return { field: 'params.max_failures_per_day', message: 'params.max_failures_per_day must be above 0' };
	}
	// A lag threshold of 0 bytes would make every run with any unconfirmed WAL bad.
	if (!absent(p.max_lag_bytes) && numeric(p.max_lag_bytes) <= 0) {
		return { field: 'params.max_lag_bytes', message: 'params.max_lag_bytes must be above 0 (bytes a replication slot or binlog position may be behind)' };
	}
	for (const key of DURATION_PARAMS) {
		if (absent(p[key]) || p[key] === '') continue;
		try {
			parseDuration(p[key], `params.${key}`);
		} catch (error) {
			return { field: `params.${key}`, message: (error as Error).message };
		}
	}
	for (const key of SEVERITY_PARAMS) {
		if (!absent(p[key]) && p[key] !== 'page' && p[key] !== 'ticket') return { field: `params.${key}`, message: `params.${key} must be "page" or "ticket"` };
	}
	if (!absent(p.agent_code_name) && typeof p.agent_code_name !== 'string') {
		return { field: 'params.agent_code_name', message: 'params.agent_code_name must be the code name of an agent (text)' };
	}
	try {
		catalogFromParams(p.alert_windows);
	} catch (error) {
		return { field: 'params.alert_windows', message: (error as Error).message };
	}
	return null;
}

// ---------------------------------------------------------------------------------------------
// Readers (a row that reached the evaluator passed paramsProblem; these still refuse by name)

export function numberParam(slo: SloDefinition, name: string, fallback: number): number {
	const value = slo.params[name];
	if (value === undefined || value === null) return fallback;
	const n = numeric(value);
	if (!Number.isFinite(n) || n < 0) throw new SloDefinitionError(`SLO "${slo.codeName}": params.${name} must be a non-negative number`);
	return n;
}

export function durationParam(slo: SloDefinition, name: string, fallback: number | null): number | null {
	const value = slo.params[name];
	if (value === undefined || value === null || value === '') return fallback;
	try {
		return parseDuration(value, `params.${name}`);
	} catch (error) {
		throw new SloDefinitionError(`SLO "${slo.codeName}": ${(error as Error).message}`);
	}
}

export function severityParam(slo: SloDefinition, name: string, fallback: Severity): Severity {
	const v = slo.params[name];
	if (v === undefined || v === null || v === '') return fallback;
	if (v !== 'page' && v !== 'ticket') throw new SloDefinitionError(`SLO "${slo.codeName}": params.${name} must be "page" or "ticket"`);
	return v;
}

/** The minimum-event guard of burn-rate windows: params.min_events and params.min_bad_events. */
export function guardOf(slo: SloDefinition): { minEvents: number; minBad: number } {
	return { minEvents: numberParam(slo, 'min_events', 10), minBad: numberParam(slo, 'min_bad_events', 2) };
}

/** The SLO's burn-rate window pairs: params.alert_windows (or the catalog) scaled to its period. */
export function windowsOf(slo: SloDefinition): AlertWindow[] {
	try {
		return scaledWindows(slo.periodSeconds, catalogFromParams(slo.params.alert_windows));
	} catch (error) {
		throw new SloDefinitionError(`SLO "${slo.codeName}": ${(error as Error).message}`);
	}
}

/**
 * How long a firing alert stays quiet after a delivered notification: params.page_repeat_interval /
 * params.ticket_repeat_interval, else params.repeat_interval, else 4 hours for pages (Alertmanager's
 * default) and a day for tickets (a ticket is worked in office hours; re-posting it every 4 hours
 * is noise).
 */
export function repeatIntervalSeconds(slo: { params: Record<string, unknown>; codeName: string }, severity: Severity): number {
	const value = slo.params[`${severity}_repeat_interval`] ?? slo.params.repeat_interval;
	if (value === undefined || value === null || value === '') return severity === 'page' ? 4 * 3600 : 24 * 3600;
	return parseDuration(value, `SLO "${slo.codeName}" params.${severity}_repeat_interval`);
}
