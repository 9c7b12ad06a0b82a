/**
 * Structured events for log shippers: one plain object per connector run start/skip/finish/fail,
 * agent call and alert transition. The engine never logs by itself (lib/ does not import n8n);
 * nodes hand these objects to n8n's logger (nodes/shared/log.ts), so they travel wherever n8n's
 * logs go. docs/logs.md lists every field.
 *
 * Run events are read back from the ledger after the run's transaction committed: a log line says
 * exactly what the ledger says (counts, status, duration), and the error is the ledger's masked
 * message, masked once more here with the session's known secrets.
 */
import type { Pool, PoolClient } from 'pg';
import { redact } from '../lakehouse/secrets';
import type { AlertView } from '../slo/alerts';

export type EventName =
	| 'connector_run.start'
	| 'connector_run.skip'
	| 'connector_run.finish'
	| 'connector_run.fail'
	| 'agent.call'
	| 'alert.firing'
	| 'alert.resolved';

export type EventLevel = 'info' | 'warn' | 'error';

export type EventValue = string | number | boolean | null;

export interface LakehouseEvent {
	/** The log line's message: one sentence a person can read in a plain-text log. */
	message: string;
	level: EventLevel;
	/** Flat fields (no nesting: every log shipper indexes them as they are). */
	fields: { event: EventName; source: 'ipai-lakehouse' } & Record<string, EventValue>;
}

/** Errors in log lines are cut here: a stack of SQL is not a log field. */
const MAX_ERROR_CHARS = 1000;

function maskedError(text: string | null, secrets: readonly string[]): string | null {
	if (text === null || text === undefined) return null;
	const masked = redact(String(text), secrets);
	return masked.length <= MAX_ERROR_CHARS ? masked : `${masked.slice(0, MAX_ERROR_CHARS - 1)}…`;
}

const numberOrNull = (value: unknown): number | null => {
	if (value === null || value === undefined || value === '') return null;
	const n = Number(value);
	return Number.isFinite(n) ? n : null;
};

const stringOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export interface ConnectorRunRow {
	id: string;
	connector_type: string;
	connector: string;
	status: string;
	started_at: Date;
	ended_at: Date | null;
	rows_read: string | null;
	rows_written: string | null;
	error_message: string | null;
	metadata: Record<string, unknown> | null;
}

const CONNECTOR_EVENT: Record<string, { event: EventName; level: EventLevel; verb: string }> = {
	running: { event: 'connector_run.start', level: 'info', verb: 'started' },
	skipped: { event: 'connector_run.skip', level: 'info', verb: 'skipped' },
	success: { event: 'connector_run.finish', level: 'info', verb: 'finished' },
	failed: { event: 'connector_run.fail', level: 'error', verb: 'failed' },
	abandoned: { event: 'connector_run.fail', level: 'error', verb: 'was abandoned' },
};

/** The event for a connector run as the ledger holds it now (null when the run does not exist). */
export async function connectorRunEvent(db: Pool | PoolClient, runId: string, secrets: readonly string[] = []): Promise<LakehouseEvent | null> {
	const { rows } = await db.query<ConnectorRunRow>(
		`select r.id, c.connector_type, c.name as connector, r.status, r.started_at, r.ended_at,
		        r.rows_read::text, r.rows_written::text, r.error_message, r.metadata
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where r.id = $1`,
		[runId],
	);
	return rows.length ? connectorRunEventOf(rows[0], secrets) : null;
}

export function connectorRunEventOf(r: ConnectorRunRow, secrets: readonly string[] = []): LakehouseEvent {
	const kind = CONNECTOR_EVENT[r.status] ?? { event: 'connector_run.fail' as const, level: 'error' as const, verb: `ended as ${r.status}` };
	const metadata = r.metadata ?? {};
	const durationMs = r.ended_at ? Math.max(0, r.ended_at.getTime() - r.started_at.getTime()) : null;
	const error = r.status === 'failed' || r.status === 'abandoned' ? maskedError(r.error_message, secrets) : null;
	const connector = `${r.connector_type}/${r.connector}`;
	const counts = r.status === 'running' ? '' : ` (${r.rows_read ?? 0} rows read, ${r.rows_written ?? 0} written, ${durationMs ?? 0} ms)`;
	const reason = r.status === 'skipped' && metadata.reason ? `: ${String(metadata.reason)}` : '';
	return {
		level: kind.level,
		message: `IPAI connector run ${kind.verb}: ${connector}${counts}${reason}${error ? `: ${error}` : ''}`,
		fields: {
			event: kind.event,
			source: 'ipai-lakehouse',
			run_id: r.id,
			connector_type: r.connector_type,
			connector: r.connector,
			status: r.status,
			rows_read: numberOrNull(r.rows_read),
			rows_written: numberOrNull(r.rows_written),
			started_at: r.started_at.toISOString(),
			ended_at: r.ended_at?.toISOString() ?? null,
			duration_ms: durationMs,
			error,
			skip_reason: r.status === 'skipped' ? stringOrNull(metadata.reason) : null,
			n8n_execution_id: stringOrNull(metadata.n8n_execution_id),
			n8n_workflow_id: stringOrNull(metadata.n8n_workflow_id),
		},
	};
}

interface AgentRunRow {
	id: string;
	agent: string | null;
	agent_type: string | null;
	status: string;
	tool: string | null;
	started_at: Date;
	ended_at: Date | null;
	tokens_used: number | null;
	cost_usd: string | null;
	latency_ms: number | null;
	error_message: string | null;
	session_id: string | null;
}

/** The event for one recorded agent call (query, authorize or logged tool call). */
export async function agentCallEvent(db: Pool | PoolClient, runId: string, secrets: readonly string[] = []): Promise<LakehouseEvent | null> {
	const { rows } = await db.query<AgentRunRow>(
		`select r.id, a.code_name as agent, a.agent_type, r.status, r.input_summary->>'tool' as tool, r.started_at, r.ended_at,
		        r.tokens_used, r.cost_usd::text, r.latency_ms, r.error_message, r.session_id
		   from public.ipai_agent_run r left join public.ipai_agent a on a.id = r.agent_id
		  where r.id = $1`,
		[runId],
	);
	if (!rows.length) return null;
	const r = rows[0];
	const error = r.status === 'success' ? null : maskedError(r.error_message, secrets);
	const level: EventLevel = r.status === 'success' || r.status === 'running' ? 'info' : 'warn';
	const agent = r.agent ?? '(unknown agent)';
	return {
		level,
		message: `IPAI agent call ${r.status}: ${agent}${r.tool ? ` ${r.tool}` : ''}${r.latency_ms !== null ? ` in ${r.latency_ms} ms` : ''}${error ? `: ${error}` : ''}`,
		fields: {
			event: 'agent.call',
			source: 'ipai-lakehouse',
			run_id: r.id,
			agent: r.agent,
			agent_type: r.agent_type,
			tool: r.tool,
			status: r.status,
			tokens: r.tokens_used,
			cost_usd: numberOrNull(r.cost_usd),
			duration_ms: r.latency_ms,
			started_at: r.started_at.toISOString(),
			ended_at: r.ended_at?.toISOString() ?? null,
			session_id: r.session_id,
			error,
		},
	};
}

/** What an alert transition event reads of the SLO monitor's view of an alert. */
export type AlertTransitionInput = Pick<AlertView, 'fingerprint' | 'state' | 'severity' | 'labels' | 'title' | 'startedAt' | 'resolvedAt' | 'silencedBy' | 'inhibitedBy'>;

/**
 * Alerts that changed state in the evaluation made at `evaluatedAt`: a new episode started
 * (firing) or an episode ended (resolved). An alert still firing, or resolved earlier, is no
 * transition; a concurrent evaluator has its own instant, so a change is logged once.
 */
export function alertTransitionEvents(evaluatedAt: string, alerts: readonly AlertTransitionInput[], secrets: readonly string[] = []): LakehouseEvent[] {
	const at = new Date(evaluatedAt).getTime();
	const out: LakehouseEvent[] = [];
	for (const a of alerts) {
		const firing = a.state === 'firing' && new Date(a.startedAt).getTime() === at;
		const resolved = a.state === 'resolved' && a.resolvedAt !== null && new Date(a.resolvedAt).getTime() === at;
		if (!firing && !resolved) continue;
		const title = redact(a.title, secrets);
		out.push({
			level: firing && a.severity === 'page' ? 'error' : 'warn',
			message: `IPAI alert ${firing ? 'firing' : 'resolved'} [${a.severity}]: ${title}`,
			fields: {
				event: firing ? 'alert.firing' : 'alert.resolved',
				source: 'ipai-lakehouse',
				alert: a.labels.alertname ?? null,
				fingerprint: a.fingerprint,
				severity: a.severity,
				status: a.state,
				slo: a.labels.slo ?? null,
				connector_type: a.labels.connector_type ?? null,
				connector: a.labels.connector ?? null,
				agent: a.labels.agent ?? null,
				title,
				started_at: a.startedAt,
				resolved_at: a.resolvedAt,
				duration_ms: resolved && a.resolvedAt ? new Date(a.resolvedAt).getTime() - new Date(a.startedAt).getTime() : null,
				silenced: a.silencedBy.length > 0,
				inhibited: a.inhibitedBy !== null,
			},
		});
	}
	return out;
}
