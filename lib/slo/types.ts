/** Shapes shared by the SLO engine: definitions, evaluated status, alert candidates, notifications. */
import type { BudgetKind } from '../agents/budgets';
import type { RegisteredSliType } from './sli/registry';
import type { AlertWindow, Severity } from './windows';

/** An sli_type with an evaluator in lib/slo/sli/registry.ts. */
export type SliType = RegisteredSliType;

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
	/** slo: an alert about the SLO row itself (it cannot be evaluated). */
	kind: 'connector' | 'agent' | 'slo' | 'expectation';
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

/** A connector's latest run, so a stuck or abandoned one can be named. */
export interface LastRun {
	id: string;
	status: string;
	startedAt: string;
	/** The lease's heartbeat while running; the last one recorded for an abandoned run. */
	lastHeartbeatAt: string | null;
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
	/** connector_warnings: the last successful runs and the warnings they carried. */
	warnings?: { runs: number; required: number; withWarnings: number; latest: Array<{ runId: string; endedAt: string; warnings: string[] }> };
	/** replication_lag: the thresholds and the latest run reporting lag (null readings: not reported). */
	replication?: {
		maxLagSeconds: number | null;
		maxLagBytes: number | null;
		latestRunId: string | null;
		latestAt: string | null;
		lagSeconds: number | null;
		lagBytes: number | null;
	};
	/** Connector SLIs: the latest run (named by absent/stale alerts when it is stuck or abandoned). */
	lastRun?: LastRun | null;
	/** agent_budget: each budget the agent has, and where it stands. */
	budgets?: AgentBudgetState[];
	lastError?: LastError | null;
	runbookUrl: string | null;
}

export type AlertName = 'SLOBurnRate' | 'ConnectorAbsent' | 'ConnectorStale' | 'ConnectorWarnings' | 'AgentOverBudget' | 'SLODefinitionInvalid' | 'DataQuality';

/** One of an agent's budgets as the agent_budget SLI sees it (amounts in USD or milliseconds). */
export interface AgentBudgetState {
	kind: BudgetKind;
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
	/** The runbook of the alert kind (docs/runbooks/alert-*.md). */
	alertRunbookUrl?: string | null;
	executionUrl: string | null;
	/** AgentOverBudget: the budget, its limit and what was used. */
	budget?: AgentBudgetState;
	/** What the person on call should do. */
	action?: string;
	/** How often the condition came back within the hold (flapping notices). */
	flapCount?: number;
	/** Set on resolved notifications. */
	resolvedAt?: string;
	startedAt?: string;
}

export interface AlertCandidate {
	/**
	 * Once neither the condition holds nor any window of its severity burns above its factor, the
	 * alert keeps firing this long before it resolves (0: resolve at once).
	 */
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
	/**
	 * Alerts whose condition is off but whose windows still burn above the factor (the long window
	 * of a burst): a firing one keeps firing, its hold not yet started.
	 */
	burning: Array<{ fingerprint: string; keepFiringForSeconds: number }>;
	/** SLO ids that were evaluated: only their alerts may be resolved. */
	evaluatedSloIds: string[];
	/** Enabled SLOs skipped because their params break the rules (each raises one ticket). */
	invalidSlos: Array<{ sloId: string; codeName: string; field: string; message: string }>;
	durationMs: number;
}

export type NotificationKind = 'firing' | 'repeat' | 'resolved' | 'flapping';

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
