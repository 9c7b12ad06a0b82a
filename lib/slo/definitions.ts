/**
 * Adding and changing SLOs (the node's Set SLO operation; plain SQL on public.ipai_slo works too).
 * Everything the evaluator will read is validated here first, so a typo is refused with its name
 * instead of breaking the next evaluation.
 */
import type { Pool } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import { inTransaction } from '../lakehouse/connection';
import { loadSlos } from './evaluate';
import { paramsProblem, SloDefinitionError } from './params';
import { REGISTERED_SLI_TYPES } from './sli/registry';
import type { SliType, SloDefinition } from './types';
import { parseDuration } from './windows';

export const SLI_TYPES: readonly SliType[] = REGISTERED_SLI_TYPES;

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

/** Throws SloDefinitionError naming the first field of params that breaks the rules (lib/slo/params.ts). */
export function validateSloParams(codeName: string, params: Record<string, unknown>): void {
	const problem = paramsProblem(params);
	if (problem) throw new SloDefinitionError(`SLO "${codeName}": ${problem.message}`);
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
