/**
 * The rules for an SLO's params, in one place: the Set SLO operation refuses what breaks them, the
 * evaluator skips (and reports) a stored row that breaks them, and the database CHECK
 * (ipai_meta.slo_params_problem, migration 20261202005000) applies the same rules to plain SQL.
 * test/integration/sloDefinitions.test.ts holds the two to the same answers.
 */
import { catalogFromParams, numeric, parseDuration } from './windows';


export const NUMERIC_PARAMS = [
	'min_events', 'min_bad_events', 'absent_factor', 'warn_factor', 'page_factor', 'max_failures_per_day', 'threshold_ms',
	'warn_fraction', 'min_run_events', 'warning_runs',
] as const;
export const DURATION_PARAMS = [
	'grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval', 'ticket_repeat_interval', 'run_window',
	'keep_firing_for',
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
