/**
 * What an alert says: its identity (labels and fingerprint) and its words (title, summary, what to
 * do), built the same way for every alert kind. SLI evaluators decide that an alert fires; this
 * file decides how it reads.
 */
import { burnIdentity, fingerprintOf, holdSeconds } from './burnRate';
import { ALERT_RUNBOOKS } from './runbooks';
import type { EvaluationContext } from './sli/context';
import type { BudgetKind } from '../agents/budgets';
import type { AgentBudgetState, AlertAnnotations, AlertCandidate, AlertName, FailingConnector, LastRun, SloDefinition, SloStatus, SloTarget } from './types';
import { formatDuration, round, type Severity } from './windows';

/** The parts of a candidate that differ between alert kinds; the rest comes from the SLO. */
interface CandidateParts {
	alertname: AlertName;
	severity: Severity;
	identity: Record<string, string>;
	target: SloTarget;
	title: string;
	summary: string;
	action: string;
	keepFiringForSeconds?: number;
	budget?: AgentBudgetState;
	burnRate?: number | null;
	firingWindows?: AlertAnnotations['firingWindows'];
	errorBudgetRemaining?: number | null;
	failingConnectors?: FailingConnector[];
	runbookUrl: string | null;
	executionUrl?: string | null;
}

export function buildCandidate(ctx: EvaluationContext, slo: SloDefinition, p: CandidateParts): AlertCandidate {
	const t = p.target;
	const targetLabels: Record<string, string> = t.kind === 'slo' ? {} : { [t.kind]: t.name, [`${t.kind}_type`]: t.type };
	return {
		keepFiringForSeconds: p.keepFiringForSeconds ?? 0,
		fingerprint: fingerprintOf(p.identity),
		sloId: slo.id,
		alertname: p.alertname,
		severity: p.severity,
		targetId: t.id,
		labels: { ...slo.labels, ...p.identity, ...targetLabels, sli_type: slo.sliType },
		annotations: {
			title: p.title,
			summary: p.summary,
			action: p.action,
			...(p.budget ? { budget: p.budget } : {}),
			slo: slo.codeName,
			sloDescription: slo.description,
			objective: slo.objective,
			periodSeconds: slo.periodSeconds,
			target: t,
			burnRate: p.burnRate ?? null,
			firingWindows: p.firingWindows ?? [],
			errorBudgetRemaining: p.errorBudgetRemaining ?? null,
			failingConnectors: p.failingConnectors ?? [],
			runbookUrl: p.runbookUrl,
			alertRunbookUrl: ctx.runbook(ALERT_RUNBOOKS[p.alertname]),
			executionUrl: p.executionUrl ?? null,
		},
	};
}

export function pct(value: number | null): string {
	return value === null ? 'n/a' : `${round(value * 100, 1)}%`;
}

export function oneLineText(text: string, max: number): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The words for a connector's latest run when it is stuck (running past now's lease) or abandoned. */
function stuckRunText(run: LastRun | null): { title: string; summary: string } | null {
	if (!run || (run.status !== 'abandoned' && run.status !== 'running')) return null;
	const beat = run.lastHeartbeatAt ? `last heartbeat ${run.lastHeartbeatAt}` : 'no heartbeat recorded';
	if (run.status === 'abandoned') {
		return {
			title: `run ${run.id} was abandoned (worker presumed dead)`,
			summary: `Its latest run ${run.id} started ${run.startedAt}, ${beat}, and was marked abandoned when its lease expired.`,
		};
	}
	return { title: `run ${run.id} is stuck`, summary: `Its latest run ${run.id} started ${run.startedAt} and is still running (${beat}).` };
}

function bytesText(bytes: number): string {
	return `${Math.round(bytes).toLocaleString('en-US')} bytes`;
}

/** The latest lag reading, e.g. "2h behind (5,000,000,000 bytes)"; "reporting no lag" without one. */
function lagText(r: NonNullable<SloStatus['replication']>): string {
	const parts = [r.lagSeconds === null ? null : `${formatDuration(r.lagSeconds)} behind`, r.lagBytes === null ? null : `${bytesText(r.lagBytes)} of WAL/binlog behind`].filter(Boolean);
	return parts.length ? parts.join(', ') : 'reporting no lag reading';
}

function thresholdText(r: NonNullable<SloStatus['replication']>): string {
	return [r.maxLagSeconds === null ? null : formatDuration(r.maxLagSeconds), r.maxLagBytes === null ? null : bytesText(r.maxLagBytes)].filter(Boolean).join(' / ');
}

/** An alert about a connector or agent status: burn rate, absent or stale. */
export function statusCandidate(
	ctx: EvaluationContext,
	slo: SloDefinition,
	status: SloStatus,
	alertname: 'SLOBurnRate' | 'ConnectorAbsent' | 'ConnectorStale',
	severity: Severity,
	failing: FailingConnector[],
): AlertCandidate {
	const t = status.target;
	const identity: Record<string, string> =
		alertname === 'SLOBurnRate' ? burnIdentity(slo, t, severity) : { alertname, slo: slo.codeName, severity, [`${t.kind}_id`]: t.id };
	const firingWindows = status.windows
		.filter((w) => w.firing && w.severity === severity)
		.map((w) => ({ name: w.name, longSeconds: w.longSeconds, shortSeconds: w.shortSeconds, factor: w.factor, longBurnRate: w.longBurnRate, shortBurnRate: w.shortBurnRate }));
	const burnRate = firingWindows.length ? Math.max(...firingWindows.map((w) => w.longBurnRate)) : null;
	const who = `${t.kind === 'connector' ? `${t.type}/` : 'agent '}${t.name}`;
	const stuck = stuckRunText(status.lastRun ?? null);
	let summary: string;
	let title: string;
	let action: string;
	if (alertname === 'ConnectorAbsent') {
		const a = status.absent!;
		title = stuck ? `${who}: ${stuck.title}` : `${who} stopped reporting runs`;
		summary = `${stuck ? `${stuck.summary} ` : ''}No run of ${who} started ${a.lastRunStartedAt ? `since ${a.lastRunStartedAt}` : 'yet'}; expected at least every ${formatDuration(a.absentAfterSeconds)}.`;
		action = stuck
			? `Find why the worker of run ${status.lastRun!.id} died (n8n worker logs, out-of-memory kills), then run the connector's workflow again; the alert resolves when a run starts.`
			: `Check that the connector's schedule workflow is active in n8n and that its dispatcher and workers are running; start the workflow by hand to confirm.`;
	} else if (alertname === 'ConnectorStale') {
		const f = status.freshness!;
		title = `${who} data is stale`;
		summary = `Last successful run ${f.lastSuccessAt ? `finished ${formatDuration(f.ageSeconds ?? 0)} ago (${f.lastSuccessAt})` : 'never happened'}; ${severity} threshold ${formatDuration(severity === 'page' ? f.pageAfterSeconds : f.ticketAfterSeconds)}. Error budget left ${pct(status.errorBudgetRemaining)}.${stuck ? ` ${stuck.summary}` : ''}`;
		action = status.lastError?.message
			? `Fix the last error (${oneLineText(status.lastError.message, 120)}) and re-run the connector; the alert resolves after its next successful run.`
			: `Check the connector's latest runs in ipai_connector_run and re-run it; the alert resolves after its next successful run.`;
	} else if (status.replication) {
		const r = status.replication;
		const w = firingWindows[0];
		title = `${slo.codeName}: ${who} replication lag is over its threshold`;
		summary =
			`${who} is ${lagText(r)} (run ${r.latestRunId ?? 'n/a'}, ${r.latestAt ?? 'n/a'}); threshold ${thresholdText(r)}. ` +
			`${status.badEvents} of ${status.events} runs over ${formatDuration(slo.periodSeconds)} were over the threshold or reported no lag; ` +
			`burn rate ${burnRate ?? 'n/a'}× over ${w ? formatDuration(w.longSeconds) : 'n/a'} (threshold ${w?.factor ?? 'n/a'}×); error budget left ${pct(status.errorBudgetRemaining)}.`;
		action =
			`On the source, check the connector's replication slot or binlog (inactive slot, wal_status lost), long-running transactions holding it back, ` +
			`and that the connector's runs still consume (schedule active, workers up, runs succeeding). A lost slot needs a re-snapshot: follow the runbook.`;
	} else {
		title = `${slo.codeName}: ${who} is burning its error budget`;
		const w = firingWindows[0];
		summary = `Burn rate ${burnRate ?? 'n/a'}× over ${w ? formatDuration(w.longSeconds) : 'n/a'} (threshold ${w?.factor ?? 'n/a'}×, confirmed over ${w ? formatDuration(w.shortSeconds) : 'n/a'}); ${status.badEvents} of ${status.events} ${t.kind === 'connector' ? 'runs' : 'calls'} bad over ${formatDuration(slo.periodSeconds)}; error budget left ${pct(status.errorBudgetRemaining)}.`;
		if (status.latency?.p95Ms !== undefined && status.latency.p95Ms !== null) summary += ` p95 latency ${status.latency.p95Ms} ms (target < ${status.latency.thresholdMs} ms).`;
		if (status.failures) summary += ` ${status.failures.lastDay} failed calls in the last day (limit ${status.failures.maxPerDay}).`;
		action =
			t.kind === 'connector'
				? status.lastError?.message
					? `Open the failed execution and fix its cause (${oneLineText(status.lastError.message, 120)}); silence the alert while a known outage of the source lasts.`
					: `Look at the connector's failed runs in ipai_connector_run and fix their cause; silence the alert while a known outage of the source lasts.`
				: status.latency
					? `Find the slow calls in ipai_agent_run (latency_ms) and make them cheaper, or raise params.threshold_ms if the target is wrong.`
					: `Read the errors of the agent's failed calls in ipai_agent_run and fix their cause (model provider, tool, permissions).`;
	}
	return buildCandidate(ctx, slo, {
		alertname,
		severity,
		identity,
		target: t,
		title,
		summary,
		action,
		keepFiringForSeconds: alertname === 'SLOBurnRate' ? holdSeconds(slo, status, severity) : 0,
		burnRate,
		firingWindows,
		errorBudgetRemaining: status.errorBudgetRemaining,
		failingConnectors: failing,
		runbookUrl: status.runbookUrl,
		executionUrl: status.lastError?.executionUrl ?? null,
	});
}

/** The ticket for an SLO row whose params break the rules: it is skipped until fixed. */
export function invalidSloCandidate(ctx: EvaluationContext, slo: SloDefinition, field: string, message: string): AlertCandidate {
	return buildCandidate(ctx, slo, {
		alertname: 'SLODefinitionInvalid',
		severity: 'ticket',
		identity: { alertname: 'SLODefinitionInvalid', slo: slo.codeName, severity: 'ticket' },
		target: { kind: 'slo', id: slo.id, name: slo.codeName, type: slo.sliType },
		title: `SLO "${slo.codeName}" is not evaluated: ${field} is invalid`,
		summary: `The row of public.ipai_slo with code_name "${slo.codeName}" (id ${slo.id}) is skipped until it is fixed: ${message}. Every other SLO is evaluated as usual.`,
		action: `Fix ${field} of SLO "${slo.codeName}" (IPAI SLO Monitor › Set SLO, or update public.ipai_slo), or disable the row; this ticket resolves at the next evaluation after that.`,
		runbookUrl: null,
	});
}


function amount(value: number | null, unit: 'usd' | 'ms'): string {
	if (value === null) return 'n/a';
	return unit === 'usd' ? `$${Number(value.toFixed(4))}` : `${Math.round(value).toLocaleString('en-US')} ms`;
}

const BUDGET_NAMES: Record<BudgetKind, { name: string; setting: string }> = {
	daily_cost: { name: 'daily cost budget', setting: 'the daily cost budget (cost_budget_usd)' },
	daily_latency: { name: 'daily latency budget', setting: 'config.daily_latency_budget_ms' },
	run_cost: { name: 'per-run cost budget', setting: 'config.max_run_cost_usd' },
	run_latency: { name: 'per-run latency budget', setting: 'the latency budget (latency_budget_ms)' },
};

/** The words of a budget alert: which agent, which budget, used vs limit, and what to do. */
export function describeBudget(agent: string, b: AgentBudgetState): { title: string; summary: string; action: string } {
	const { name, setting } = BUDGET_NAMES[b.kind];
	const used = amount(b.used, b.unit);
	const limit = amount(b.limit, b.unit);
	const runs = 'its recent runs (ipai_agent_run, newest first)';
	if (b.state === 'exhausted') {
		const refused = b.events > 0 ? `; ${b.events} call${b.events === 1 ? '' : 's'} refused today${b.lastEventAt ? `, the last at ${b.lastEventAt}` : ''}` : '; its next call will be refused';
		return {
			title: `agent ${agent}: ${name} spent, calls refused`,
			summary: `Agent ${agent} has used ${used} of its ${name} of ${limit} (UTC day ${b.day})${refused}. The Agent Guard refuses its calls until 00:00 UTC or until the budget is raised.`,
			action: `Look at ${runs} for a loop or an unexpectedly expensive tool or query, and stop the caller if it is runaway. If the spend is expected, raise ${setting} with IPAI Agent Guard › Register or Update; this alert resolves once the limit is above what was spent.`,
		};
	}
	if (b.state === 'warning') {
		return {
			title: `agent ${agent}: ${Math.floor(((b.used ?? 0) / b.limit) * 100)}% of its ${name} used`,
			summary: `Agent ${agent} has used ${used} of its ${name} of ${limit} (UTC day ${b.day}); at the limit its calls are refused until 00:00 UTC.`,
			action: `If this pace is expected, raise ${setting} before it runs out (IPAI Agent Guard › Register or Update); otherwise look at ${runs} for what is spending.`,
		};
	}
	const window = formatDuration(b.windowSeconds ?? 3600);
	const what = b.kind === 'run_cost' ? 'cost' : 'took';
	return {
		title: `agent ${agent}: ${b.events} calls over its ${name} in ${window}`,
		summary: `${b.events} calls of agent ${agent} broke its ${name} of ${limit} in the last ${window} (the largest ${what} ${used})${b.lastEventAt ? `; the last at ${b.lastEventAt}` : ''}. ${b.kind === 'run_cost' ? 'Calls estimated above it are refused; calls that cost more are recorded failed.' : 'Queries are cancelled at the budget; slower logged calls are recorded failed.'}`,
		action: b.kind === 'run_cost'
			? `Find the calls in ${runs} (metadata.over_budget = run_cost): make them cheaper (smaller prompts or context, a cheaper model) or, if they are worth it, raise ${setting}.`
			: `Find the calls in ${runs} (metadata.over_budget = run_latency; input_summary.sql for queries): add filters or indexes, query a gold view instead of a large table, or raise ${setting}.`,
	};
}

export function budgetCandidate(ctx: EvaluationContext, slo: SloDefinition, status: SloStatus, b: AgentBudgetState, severity: Severity): AlertCandidate {
	const t = status.target;
	return buildCandidate(ctx, slo, {
		alertname: 'AgentOverBudget',
		severity,
		identity: { alertname: 'AgentOverBudget', slo: slo.codeName, severity, agent_id: t.id, budget: b.kind },
		target: t,
		...describeBudget(t.name, b),
		budget: b,
		errorBudgetRemaining: status.errorBudgetRemaining,
		runbookUrl: status.runbookUrl,
	});
}

/** The ticket for a connector whose last successful runs all skipped part of the source. */
export function warningsCandidate(ctx: EvaluationContext, slo: SloDefinition, status: SloStatus): AlertCandidate {
	const t = status.target;
	const w = status.warnings!;
	const runs = w.latest;
	const who = `${t.type}/${t.name}`;
	const distinct = [...new Set(runs.flatMap((r) => r.warnings))];
	const shown = distinct.slice(0, 5).map((text) => oneLineText(text, 200));
	return buildCandidate(ctx, slo, {
		alertname: 'ConnectorWarnings',
		severity: 'ticket',
		identity: { alertname: 'ConnectorWarnings', slo: slo.codeName, severity: 'ticket', connector_id: t.id },
		target: t,
		title: `${who}: its last ${w.required} successful runs skipped part of the source`,
		summary: `Each of the last ${w.required} successful runs of ${who} (the latest ${runs[0].runId}, ended ${runs[0].endedAt}) reported warnings: ${shown.join('; ')}${distinct.length > shown.length ? ` (+${distinct.length - shown.length} more)` : ''}.`,
		action: `Read metadata.warnings of the connector's latest runs in ipai_connector_run and give the connector access to what it skipped (token scope, repository or file permissions), or remove it from the connector's config.`,
		runbookUrl: status.runbookUrl,
	});
}
