/** Where each alert and seeded SLO links its runbook (docs/runbooks/<name>.md, shipped in the package). */
import type { AlertName, SloDefinition } from './types';

/** Where the runbooks shipped in docs/runbooks are read when no base URL is configured. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/runbooks/';

/** SLOs seeded by the migrations, each with docs/runbooks/<code_name>.md. */
export const SEEDED_SLO_RUNBOOKS: readonly string[] = [
	'connector-run-success', 'connector-freshness', 'connector-warnings', 'agent-failures-per-day', 'agent-p95-latency', 'agent-budget',
	'dq-fail-expectations', 'dq-warn-expectations', 'replication-lag',
];

/** Every alert kind, each with docs/runbooks/<name>.md. */
export const ALERT_RUNBOOKS: Record<AlertName, string> = {
	SLOBurnRate: 'alert-slo-burn-rate',
	ConnectorAbsent: 'alert-connector-absent',
	ConnectorStale: 'alert-connector-stale',
	ConnectorWarnings: 'alert-connector-warnings',
	AgentOverBudget: 'alert-agent-over-budget',
	SLODefinitionInvalid: 'alert-slo-definition-invalid',
	DataQuality: 'alert-data-quality',
};

export interface RunbookOptions {
	/** Runbook when an SLO names none. */
	defaultRunbookUrl?: string;
	/** Where docs/runbooks/<name>.md are served (default: the package's repository); '' links none. */
	runbookBaseUrl?: string;
}

export function runbookFor(options: RunbookOptions, name: string): string | null {
	const base = options.runbookBaseUrl === undefined ? DEFAULT_RUNBOOK_BASE_URL : options.runbookBaseUrl;
	if (!base) return null;
	return `${base.replace(/\/*$/, '/')}${name}.md`;
}

/** An SLO's runbook: its own, else the configured default, else the shipped one of a seeded SLO. */
export function sloRunbook(options: RunbookOptions, slo: SloDefinition): string | null {
	return slo.runbookUrl ?? options.defaultRunbookUrl ?? (SEEDED_SLO_RUNBOOKS.includes(slo.codeName) ? runbookFor(options, slo.codeName) : null);
}
