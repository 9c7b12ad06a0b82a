/**
 * SLO evaluation in SQL over the run ledger (public.ipai_connector_run, public.ipai_agent_run).
 *
 * Read-only: it returns each SLO's status per connector/agent and the alerts that should be firing
 * now; alertState.ts turns those into alert state and notifications. Every query is bounded by the
 * injected `now` (runs after it do not exist yet), so scenario tests can walk a clock over days of
 * synthetic history, and a monitor catching up evaluates exactly what was known at that moment.
 *
 * Each SLI type is evaluated by its own file in lib/slo/sli (see sli/registry.ts); the types run
 * side by side and share what they both read through the evaluation context.
 */
import type { Pool } from 'pg';
import { invalidSloCandidate } from './alertText';
import { paramsProblem, SloDefinitionError } from './params';
import { EvaluationContext, type EvaluateOptions, type SliPart } from './sli/context';
import { REGISTERED_SLI_TYPES, SLI_REGISTRY } from './sli/registry';
import type { EvaluationResult, SliType, SloDefinition } from './types';

export { describeBudget } from './alertText';
export { fingerprintOf } from './burnRate';
export { ALERT_RUNBOOKS, DEFAULT_RUNBOOK_BASE_URL, SEEDED_SLO_RUNBOOKS } from './runbooks';
export type { EvaluateOptions } from './sli/context';

export async function loadSlos(pool: Pool, codeNames?: string[], options: { includeDisabled?: boolean } = {}): Promise<SloDefinition[]> {
	const { rows } = await pool.query<{
		id: string; code_name: string; description: string | null; sli_type: SliType; objective: string;
		period_seconds: string; connector_id: string | null; params: Record<string, unknown>; labels: Record<string, unknown>; runbook_url: string | null;
		is_enabled: boolean;
	}>(
		`select id, code_name, description, sli_type, objective, extract(epoch from period) as period_seconds,
		        connector_id, params, labels, runbook_url, is_enabled
		   from public.ipai_slo
		  where (is_enabled or $2) and ($1::text[] is null or code_name = any ($1))
		  order by code_name`,
		[codeNames?.length ? codeNames : null, options.includeDisabled === true],
	);
	if (codeNames?.length) {
		const missing = codeNames.filter((c) => !rows.some((r) => r.code_name === c));
		if (missing.length) throw new SloDefinitionError(`No ${options.includeDisabled ? '' : 'enabled '}SLO is named ${missing.map((m) => `"${m}"`).join(', ')}`);
	}
	return rows.map((r) => ({
		id: r.id,
		codeName: r.code_name,
		description: r.description,
		sliType: r.sli_type,
		objective: Number(r.objective),
		periodSeconds: Number(r.period_seconds),
		connectorId: r.connector_id,
		params: r.params ?? {},
		labels: Object.fromEntries(Object.entries(r.labels ?? {}).map(([k, v]) => [k, String(v)])),
		runbookUrl: r.runbook_url,
		enabled: r.is_enabled,
	}));
}

/**
 * The evaluation instant: the database's now, rounded up to the millisecond a JS Date holds.
 * Rounded down, a run or result written in the same millisecond would fall after it and be left
 * out of an evaluation that started after it committed.
 */
export async function evaluationTime(pool: Pool): Promise<Date> {
	return (await pool.query<{ now: Date }>(`select now() + interval '999 microseconds' as now`)).rows[0].now;
}

export async function evaluateSlos(pool: Pool, options: EvaluateOptions = {}): Promise<EvaluationResult> {
	const started = Date.now();
	const now = options.now ?? (await evaluationTime(pool));
	const loaded = await loadSlos(pool, options.slos);

	// A row whose params break the rules (written before the database checked them) is skipped and
	// reported as a ticket naming it; every other SLO is evaluated as usual.
	const invalid: Array<{ slo: SloDefinition; field: string; message: string }> = [];
	const slos: SloDefinition[] = [];
	for (const slo of loaded) {
		const problem = paramsProblem(slo.params);
		if (problem) invalid.push({ slo, ...problem });
		else slos.push(slo);
	}
	const ctx = new EvaluationContext(pool, now, options, slos);

	const parts = await Promise.all(
		REGISTERED_SLI_TYPES.map((type): SliPart | Promise<SliPart> => {
			const ofType = slos.filter((s) => s.sliType === type);
			return ofType.length ? SLI_REGISTRY[type].evaluate(ctx, ofType) : { statuses: [], candidates: [] };
		}),
	);
	return {
		now: now.toISOString(),
		statuses: parts.flatMap((p) => p.statuses),
		candidates: [...parts.flatMap((p) => p.candidates), ...invalid.map((i) => invalidSloCandidate(ctx, i.slo, i.field, i.message))],
		burning: parts.flatMap((p) => p.burning ?? []),
		evaluatedSloIds: slos.map((s) => s.id),
		invalidSlos: invalid.map((i) => ({ sloId: i.slo.id, codeName: i.slo.codeName, field: i.field, message: i.message })),
		durationMs: Date.now() - started,
	};
}
