/**
 * data_quality: the share of evaluations passing, per expectation (ipai_dq_result over the SLO's
 * period; a load counts once per run, an evaluation once per expectation and company).
 * labels.dq_action picks the expectations an SLO watches: `fail` (action fail), `warn` (actions warn
 * and drop), absent: all. It fires:
 *   - page: an expectation with action fail failed within params.run_window (default 1 hour);
 *   - ticket: an expectation failed on each of its last params.warning_runs evaluations (default 3)
 *     within params.run_window (default 1 day), or a volume_anomaly found an anomaly.
 * The message names the table, the expectation, failed/evaluated counts, a sample of failing keys
 * and the expectation's runbook. A passing evaluation resolves it. Expectations without an
 * evaluation in the period have no status.
 */
import { buildCandidate, oneLineText } from '../alertText';
import { ratioFigures } from '../burnRate';
import { durationParam, numberParam } from '../params';
import type { AlertCandidate, SloDefinition, SloStatus, SloTarget } from '../types';
import { baseStatus, targetsOf, type EvaluationContext } from './context';
import type { SliEvaluator } from './registry';

interface ExpectationRow {
	id: string;
	target_table: string;
	name: string;
	kind: string;
	action: string;
	owner: string | null;
	runbook_url: string | null;
}

interface ResultRow {
	expectation_id: string;
	status: string;
	evaluated: string;
	failed: string;
	failing_sample: unknown[];
	message: string | null;
	run_id: string | null;
	evaluated_at: Date;
}

const BAD = new Set(['fail', 'warn', 'dropped']);

function watches(slo: SloDefinition, action: string): boolean {
	const wanted = slo.labels.dq_action;
	if (!wanted) return true;
	return wanted === 'fail' ? action === 'fail' : action === 'warn' || action === 'drop';
}

export const dataQuality: SliEvaluator = {
	async evaluate(ctx, slos) {
		const { rows: expectations } = await ctx.pool.query<ExpectationRow>(
			`select id, target_table, name, kind, action, owner, runbook_url from public.ipai_dq_expectation where is_enabled order by target_table, name`,
		);
		const targets = expectations.map((e) => ({ id: e.id, row: e }));
		const pairs = targetsOf(slos, 'data_quality', targets, () => null).filter(([slo, t]) => watches(slo, t.row.action));
		if (pairs.length === 0) return { statuses: [], candidates: [] };
		const longest = Math.max(...slos.map((s) => s.periodSeconds));
		const { rows: results } = await ctx.pool.query<ResultRow>(
			`select expectation_id, status, evaluated, failed, failing_sample, message, run_id, evaluated_at
			   from public.ipai_dq_result
			  where expectation_id = any ($1::uuid[]) and evaluated_at > $2 and evaluated_at <= $3 and status <> 'error'
			  order by evaluated_at desc, id desc`,
			[[...new Set(pairs.map(([, t]) => t.id))], ctx.at(longest), ctx.now],
		);
		const byExpectation = new Map<string, ResultRow[]>();
		for (const r of results) {
			const list = byExpectation.get(r.expectation_id) ?? [];
			list.push(r);
			byExpectation.set(r.expectation_id, list);
		}
		const statuses: SloStatus[] = [];
		const candidates: AlertCandidate[] = [];
		for (const [slo, t] of pairs) {
			const e = t.row;
			const inPeriod = (byExpectation.get(e.id) ?? []).filter((r) => r.evaluated_at.getTime() > ctx.at(slo.periodSeconds).getTime());
			// An expectation nothing has evaluated in the period (a seeded one whose table no connector
			// loads) is not measured yet: no status rather than one no_data line per expectation.
			if (inPeriod.length === 0) continue;
			const bad = inPeriod.filter((r) => BAD.has(r.status));
			const target: SloTarget = { kind: 'expectation', id: e.id, name: `${e.target_table}.${e.name}`, type: e.kind };
			const firing = firingResult(ctx, slo, e, inPeriod);
			const status: SloStatus = {
				...baseStatus(ctx, slo, target),
				status: firing ? firing.severity : 'ok',
				events: inPeriod.length,
				badEvents: bad.length,
				...ratioFigures({ events: inPeriod.length, bad: bad.length }, slo.objective),
			};
			if (e.runbook_url) status.runbookUrl = e.runbook_url;
			statuses.push(status);
			if (firing) candidates.push(candidate(ctx, slo, status, e, firing));
		}
		return { statuses, candidates };
	},
};

function firingResult(ctx: EvaluationContext, slo: SloDefinition, e: ExpectationRow, results: ResultRow[]): { severity: 'page' | 'ticket'; latest: ResultRow; count: number } | null {
	const latest = results[0];
	if (!latest || !BAD.has(latest.status)) return null;
	if (e.action === 'fail') {
		const window = durationParam(slo, 'run_window', 3600) ?? 3600;
		const recent = results.filter((r) => r.evaluated_at.getTime() > ctx.at(window).getTime());
		return recent.some((r) => r.status === 'fail') ? { severity: 'page', latest, count: 1 } : null;
	}
	if (e.kind === 'volume_anomaly') return { severity: 'ticket', latest, count: 1 };
	const need = Math.max(1, Math.floor(numberParam(slo, 'warning_runs', 3)));
	const window = durationParam(slo, 'run_window', 86_400) ?? 86_400;
	const recent = results.filter((r) => r.evaluated_at.getTime() > ctx.at(window).getTime()).slice(0, need);
	return recent.length >= need && recent.every((r) => BAD.has(r.status)) ? { severity: 'ticket', latest, count: need } : null;
}

function candidate(ctx: EvaluationContext, slo: SloDefinition, status: SloStatus, e: ExpectationRow, firing: { severity: 'page' | 'ticket'; latest: ResultRow; count: number }): AlertCandidate {
	const r = firing.latest;
	const sample = (r.failing_sample ?? []).slice(0, 5).map((k) => oneLineText(JSON.stringify(k), 120));
	const where = r.run_id ? `in run ${r.run_id}` : 'in the scheduled evaluation';
	const repeated = firing.count > 1 ? ` (each of its last ${firing.count} evaluations failed)` : '';
	return buildCandidate(ctx, slo, {
		alertname: 'DataQuality',
		severity: firing.severity,
		identity: { alertname: 'DataQuality', slo: slo.codeName, severity: firing.severity, expectation_id: e.id },
		target: status.target,
		title: `${e.target_table}: expectation ${e.name} (${e.kind}, action ${e.action}) failed`,
		summary:
			`${e.target_table}.${e.name} failed ${where}${repeated}: ${r.failed} of ${r.evaluated} ${e.kind === 'volume_anomaly' || e.kind === 'row_count' || e.kind === 'freshness' ? 'checks' : 'rows'}` +
			`${r.message ? ` (${ctx.clean(oneLineText(r.message, 300))})` : ''}${sample.length > 0 ? `; failing keys e.g. ${sample.join(', ')}` : ''}.`,
		action:
			e.action === 'fail'
				? `The page or refresh was rolled back and the run failed. Fix the source data or the transform${e.owner ? ` (owner: ${e.owner})` : ''}, then re-run; List Results of IPAI Data Quality shows every evaluation.`
				: `Look at the failing rows (ipai_dq_result, and ipai_bronze_core.ipai_load_reject for dropped rows)${e.owner ? ` with ${e.owner}` : ''}; fix the data, or adjust the expectation if the data is right.`,
		runbookUrl: e.runbook_url ?? status.runbookUrl,
	});
}
