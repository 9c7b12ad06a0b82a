/** Shapes shared by the SLO engine: definitions, evaluated status, alert candidates, notifications. */
import type { AlertWindow, Severity } from './windows';

export type SliType = 'connector_success' | 'connector_freshness' | 'agent_failures' | 'agent_latency' | 'agent_budget';

export interface SloDefinition {
	id: string;
	codeName: string;
	description: string | null;
	sliType: SliType;
	objective: number;
	periodSeconds: number;
	/** null: a template applying to every enabled connector (or every active agent). */
	connectorId: string | null;
	params: Record<string, unknown>;
	labels: Record<string, string>;
	runbookUrl: string | null;
	enabled?: boolean;
}

export interface SloTarget {
	kind: 'connector' | 'agent';
	id: string;
	name: string;
	/** connector_type for connectors, agent_type for agents. */
	type: string;
}

export interface WindowResult extends AlertWindow {
	longEvents: number;
	longBad: number;
	shortEvents: number;
	shortBad: number;
	longBurnRate: number;
	shortBurnRate: number;
	/** The short window held no event: its burn rate is the latest finished run's outcome. */
	shortFromLatest: boolean;
	/** The long window holds fewer events than params.min_events: it cannot fire. */
	guarded: boolean;
	firing: boolean;
}

export interface LastError {
	at: string;
	message: string | null;
	executionId: string | null;
	workflowId: string | null;
	executionUrl: string | null;
}

export interface SloStatus {
	slo: string;
	sloId: string;
	sliType: SliType;
	description: string | null;
	target: SloTarget;
	objective: number;
	periodSeconds: number;
	/** ok, or the highest severity firing; no_data when nothing could be measured. */
	status: 'ok' | Severity | 'no_data';
	reason?: string;
	events: number;
	badEvents: number;
	/** Good events / events over the period (null without events). */
	sli: number | null;
	/** 1 = untouched, 0 = spent, negative = overspent (null without events). */
	errorBudgetRemaining: number | null;
	/** Burn rate over the whole period (1 = the budget lasts exactly the period). */
	periodBurnRate: number | null;
	windows: WindowResult[];
	/** connector_success: the "absent" check. */
	absent?: { lastRunStartedAt: string | null; absentAfterSeconds: number; firing: boolean; severity: Severity };
	/** connector_freshness. */
	freshness?: {
		lastSuccessAt: string | null;
		ageSeconds: number | null;
		scheduleGapSeconds: number | null;
		ticketAfterSeconds: number;
		pageAfterSeconds: number;
		staleSecondsInPeriod: number;
	};
	/** agent_latency. */
	latency?: { p95Ms: number | null; thresholdMs: number };
	/** agent_failures. */
	failures?: { maxPerDay: number; lastDay: number };
	/** agent_budget: each budget the agent has, and where it stands. */
	budgets?: AgentBudgetState[];
	lastError?: LastError | null;
	runbookUrl: string | null;
}

export type AlertName = 'SLOBurnRate' | 'ConnectorAbsent' | 'ConnectorStale' | 'AgentOverBudget';

/** One of an agent's budgets as the agent_budget SLI sees it (amounts in USD or milliseconds). */
export interface AgentBudgetState {
	kind: 'run_cost' | 'run_latency' | 'daily_cost' | 'daily_latency';
	unit: 'usd' | 'ms';
	/** The limit as configured now. */
	limit: number;
	/** Daily budgets: spent in the UTC day so far. Run budgets: the largest breach in the run window. */
	used: number | null;
	/** Daily budgets: calls stopped by it today (UTC). Run budgets: breaches in the run window. */
	events: number;
	lastEventAt: string | null;
	/** exhausted: calls are being refused; warning: past params.warn_fraction; breaking: run-budget breaches ≥ params.min_run_events. */
	state: 'ok' | 'warning' | 'exhausted' | 'breaking';
	severities: Severity[];
	/** Daily budgets: the UTC day; run budgets: the window in seconds. */
	day?: string;
	windowSeconds?: number;
}

export interface FailingConnector {
	name: string;
	type: string;
	lastError: LastError | null;
}

/** What a notification says: frozen when the monitor decides to send it. */
export interface AlertAnnotations {
	title: string;
	summary: string;
	slo: string;
	sloDescription: string | null;
	objective: number;
	periodSeconds: number;
	target: SloTarget;
	/** The firing window's long-window burn rate (or, for absent/stale, null). */
	burnRate: number | null;
	firingWindows: Array<{ name: string; longSeconds: number; shortSeconds: number; factor: number; longBurnRate: number; shortBurnRate: number }>;
	errorBudgetRemaining: number | null;
	failingConnectors: FailingConnector[];
	runbookUrl: string | null;
	executionUrl: string | null;
	/** AgentOverBudget: the budget, its limit and what was used. */
	budget?: AgentBudgetState;
	/** What the person on call should do. */
	action?: string;
	/** Set on resolved notifications. */
	resolvedAt?: string;
	startedAt?: string;
}

export interface AlertCandidate {
	/** After the condition stops holding, the alert keeps firing this long (0: resolve at once). */
	keepFiringForSeconds: number;
	fingerprint: string;
	sloId: string;
	alertname: AlertName;
	severity: Severity;
	targetId: string;
	labels: Record<string, string>;
	annotations: AlertAnnotations;
}

export interface EvaluationResult {
	now: string;
	statuses: SloStatus[];
	candidates: AlertCandidate[];
	/** SLO ids that were evaluated: only their alerts may be resolved. */
	evaluatedSloIds: string[];
	durationMs: number;
}

export type NotificationKind = 'firing' | 'repeat' | 'resolved';

export interface DueNotification {
	id: string;
	fingerprint: string;
	kind: NotificationKind;
	severity: Severity;
	episode: string;
	dedupKey: string;
	payload: AlertAnnotations & { labels: Record<string, string> };
	attempts: number;
	lastError: string | null;
	createdAt: string;
}
