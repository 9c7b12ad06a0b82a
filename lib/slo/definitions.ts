/**
 * Adding and changing SLOs (the node's Set SLO operation; plain SQL on public.ipai_slo works too).
 * Everything the evaluator will read is validated here first, so a typo is refused with its name
 * instead of breaking the next evaluation.
 */
import type { Pool } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import { inTransaction } from '../lakehouse/connection';
import { loadSlos, repeatIntervalSeconds, SloDefinitionError } from './evaluate';
import type { SliType, SloDefinition } from './types';
import { catalogFromParams, parseDuration } from './windows';

export const SLI_TYPES: readonly SliType[] = ['connector_success', 'connector_freshness', 'agent_failures', 'agent_latency', 'agent_budget'];

export interface SloInput {
	codeName: string;
	sliType: SliType;
	/** 0.99 or 99 (percent). */
	objective: number;
	/** "7d", "30 days", … */
	period: string;
	/** One connector (by type and name); omit for a template over every enabled connector. */
	connector?: { connectorType: string; name: string } | null;
	params?: Record<string, unknown>;
	labels?: Record<string, string>;
	description?: string | null;
	runbookUrl?: string | null;
	enabled?: boolean;
}

const NUMERIC_PARAMS = ['min_events', 'min_bad_events', 'absent_factor', 'warn_factor', 'page_factor', 'max_failures_per_day', 'threshold_ms', 'warn_fraction', 'min_run_events'];
const DURATION_PARAMS = ['grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval', 'ticket_repeat_interval', 'run_window'];

export function validateSloParams(codeName: string, params: Record<string, unknown>): void {
	const fail = (message: string) => {
		throw new SloDefinitionError(`SLO "${codeName}": ${message}`);
	};
	for (const key of NUMERIC_PARAMS) {
		if (params[key] === undefined || params[key] === null) continue;
		const n = Number(params[key]);
		if (!Number.isFinite(n) || n < 0) fail(`params.${key} must be a non-negative number`);
	}
	for (const key of DURATION_PARAMS) {
		if (params[key] === undefined || params[key] === null || params[key] === '') continue;
		try {
			parseDuration(params[key], `params.${key}`);
		} catch (error) {
			fail((error as Error).message);
		}
	}
	for (const key of ['absent_severity', 'exhausted_severity', 'run_severity']) {
		if (params[key] !== undefined && params[key] !== 'page' && params[key] !== 'ticket') fail(`params.${key} must be "page" or "ticket"`);
	}
	if (params.warn_fraction !== undefined && params.warn_fraction !== null && Number(params.warn_fraction) > 1) {
		fail('params.warn_fraction is a share of the daily budget between 0 (no warning) and 1, e.g. 0.8');
	}
	try {
		catalogFromParams(params.alert_windows);
		repeatIntervalSeconds({ params, codeName }, 'page');
		repeatIntervalSeconds({ params, codeName }, 'ticket');
	} catch (error) {
		fail((error as Error).message);
	}
}

export async function upsertSlo(pool: Pool, input: SloInput): Promise<SloDefinition> {
	const codeName = String(input.codeName ?? '').trim();
	if (!/^[a-z0-9][a-z0-9._-]{0,99}$/.test(codeName)) {
		throw new SloDefinitionError(`SLO code name "${codeName}" must be lower-case letters, digits, ".", "_" or "-" (e.g. odoo-prod-success)`);
	}
	if (!SLI_TYPES.includes(input.sliType)) throw new SloDefinitionError(`SLI type "${input.sliType}" is not one of ${SLI_TYPES.join(', ')}`);
	let objective = Number(input.objective);
	if (objective >= 1 && objective < 100) objective = objective / 100;
	if (!(objective > 0 && objective < 1)) throw new SloDefinitionError(`The objective must be between 0 and 1 (or a percentage below 100), got ${input.objective}`);
	const periodSeconds = parseDuration(input.period, 'The SLO period');
	const params = input.params ?? {};
	if (typeof params !== 'object' || Array.isArray(params)) throw new SloDefinitionError('params must be a JSON object');
	validateSloParams(codeName, params);
	if (input.connector && input.sliType.startsWith('agent_')) throw new SloDefinitionError('Agent SLOs take params.agent_code_name, not a connector');

	await inTransaction(pool, async (client) => {
		let connectorId: string | null = null;
		if (input.connector) {
			const { rows } = await client.query<{ id: string }>(
				'select id from public.ipai_connector_config where connector_type = $1 and name = $2',
				[input.connector.connectorType, input.connector.name],
			);
			if (rows.length === 0) throw new SloDefinitionError(`No connector ${input.connector.connectorType}/${input.connector.name} is registered`);
			connectorId = rows[0].id;
		}
		const { rows } = await client.query<{ id: string; inserted: boolean }>(
			`insert into public.ipai_slo (code_name, description, sli_type, objective, period, connector_id, params, labels, runbook_url, is_enabled)
			 values ($1, $2, $3, $4, make_interval(secs => $5), $6, $7, $8, $9, $10)
			 on conflict (code_name) do update
			    set description = coalesce(excluded.description, ipai_slo.description), sli_type = excluded.sli_type,
			        objective = excluded.objective, period = excluded.period, connector_id = excluded.connector_id,
			        params = excluded.params, labels = excluded.labels,
			        runbook_url = coalesce(excluded.runbook_url, ipai_slo.runbook_url), is_enabled = excluded.is_enabled
			 returning id, (xmax = 0) as inserted`,
			[codeName, input.description ?? null, input.sliType, objective, periodSeconds, connectorId, params, input.labels ?? {}, input.runbookUrl ?? null, input.enabled ?? true],
		);
		await writeAudit(client, {
			eventType: 'alert', entityType: 'slo', entityId: rows[0].id, action: rows[0].inserted ? 'slo_create' : 'slo_update',
			details: { code_name: codeName, sli_type: input.sliType, objective, period_seconds: periodSeconds, connector_id: connectorId, params },
		});
	});
	const [stored] = await loadSlos(pool, [codeName], { includeDisabled: true });
	return stored;
}
