/**
 * Writes the engine's structured events (lib/observability/events.ts) through n8n's logger, so
 * they go wherever n8n's logs go (console, file, N8N_LOG_FORMAT=json for log shippers). With
 * the json format, n8n (winston) prints one line per event: {"level", "message", "metadata":
 * {…the event's fields}, "timestamp"}. docs/logs.md lists the fields.
 *
 * Logging never fails the work it describes: a run that committed stays committed when its log
 * line cannot be read back; that is logged as a warning instead.
 */
import type { Logger } from 'n8n-workflow';
import type { Pool } from 'pg';
import { agentCallEvent, alertTransitionEvents, connectorRunEvent, type AlertTransitionInput, type LakehouseEvent } from '../../lib/observability/events';
import { redact } from '../../lib/lakehouse/secrets';

/** n8n's execution contexts carry a logger; a context built outside n8n (a script, a test) may not. */
interface HasLogger {
	logger?: Logger;
}

export function logEvent(fn: HasLogger, event: LakehouseEvent): void {
	fn.logger?.[event.level](event.message, { ...event.fields });
}

async function logRead(fn: HasLogger, what: string, secrets: readonly string[], read: () => Promise<LakehouseEvent | null>): Promise<void> {
	if (!fn.logger) return;
	let event: LakehouseEvent | null;
	try {
		event = await read();
	} catch (error) {
		fn.logger.warn(`IPAI could not read ${what} for its log line: ${redact((error as Error).message ?? String(error), secrets)}`, {
			source: 'ipai-lakehouse',
		});
		return;
	}
	if (event) logEvent(fn, event);
}

/** Logs the run as the ledger holds it now: start, skip, finish or fail. */
export async function logConnectorRun(fn: HasLogger, pool: Pool, runId: string | null | undefined, secrets: readonly string[] = []): Promise<void> {
	if (!runId) return;
	await logRead(fn, `connector run ${runId}`, secrets, () => connectorRunEvent(pool, runId, secrets));
}

export async function logAgentCall(fn: HasLogger, pool: Pool, runId: string | null | undefined, secrets: readonly string[] = []): Promise<void> {
	if (!runId) return;
	await logRead(fn, `agent run ${runId}`, secrets, () => agentCallEvent(pool, runId, secrets));
}

export function logAlertTransitions(fn: HasLogger, evaluatedAt: string, alerts: readonly AlertTransitionInput[], secrets: readonly string[] = []): void {
	for (const event of alertTransitionEvents(evaluatedAt, alerts, secrets)) logEvent(fn, event);
}
