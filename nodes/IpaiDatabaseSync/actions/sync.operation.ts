/** Sync: the chosen tables (or a connector's config) into bronze under one connector run. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { parseDbConfig, type DbConnectorConfig, type DbTableConfig } from '../../../lib/sources/db/config';
import { dbRunMetadata, syncDatabase } from '../../../lib/sources/db/sync';
import { dispatchedConnector, underRun } from '../../shared/connectorRun';
import { jsonParameter, perItem } from '../../shared/items';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { openEngine } from '../transport';

function locatorValue(value: unknown): string {
	if (value && typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value ?? '').trim();
	return String(value ?? '').trim();
}

/** The connector config this item syncs: from the node's table list, or given as JSON (the dispatcher's). */
export function configOf(fn: IExecuteFunctions, i: number, engine: string): Record<string, unknown> {
	const dispatched = dispatchedConnector(fn, i, 'db');
	if (dispatched) return { engine, ...dispatched.config };
	if (fn.getNodeParameter('tableSource', i, 'list') === 'config') {
		const config = jsonParameter(fn, 'config', i, {}) as Record<string, unknown>;
		return { engine, ...config };
	}
	const rows = ((fn.getNodeParameter('tables', i, {}) as IDataObject).table ?? []) as IDataObject[];
	const options = fn.getNodeParameter('syncOptions', i, {}) as IDataObject;
	const tables: DbTableConfig[] = rows.map((row) => {
		const schema = locatorValue(row.schema);
		const name = locatorValue(row.table);
		const table: DbTableConfig = { table: schema ? `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"` : name, mode: row.mode as DbTableConfig['mode'] };
		if (Array.isArray(row.key) && row.key.length > 0) table.key = row.key as string[];
		if (Array.isArray(row.cursor) && row.cursor.length > 0) table.cursor = row.cursor as string[];
		if (Number(row.lookbackSeconds) > 0) table.lookbackSeconds = Number(row.lookbackSeconds);
		if (row.deleteScanHours !== undefined && Number(row.deleteScanHours) >= 0) table.deleteScanHours = Number(row.deleteScanHours);
		if (row.nullCursor === 'fail') table.nullCursor = 'fail';
		if (row.raw === true) table.raw = true;
		return table;
	});
	const config: Record<string, unknown> = { engine, tables };
	for (const field of ['schema', 'slot', 'publication'] as const) if (typeof options[field] === 'string' && options[field]) config[field] = options[field];
	if (Number(options.pageSize) > 0) config.pageSize = Number(options.pageSize);
	return config;
}

export async function sync(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const session = await openLakehouse(this);
	let secrets = session.secrets;
	try {
		return await perItem(
			this,
			this.getInputData(),
			async (i) => {
				secrets = session.secrets;
				const engineName = this.getNodeParameter('engine', i) as string;
				const { engine, settings, fdw } = await openEngine(this, engineName);
				secrets = [...secrets, settings.password].filter(Boolean);
				const config = configOf(this, i, engineName);
				try {
					return await underRun(
						this,
						i,
						session,
						{ connectorType: 'db', name: `db-${settings.database}`, initialConfig: config },
						async (run) => {
							const parsed: DbConnectorConfig = parseDbConfig(`db-${settings.database}`, config);
							const { rows } = await session.pool.query<{ name: string }>('select name from public.ipai_connector_config where id = $1', [run.connectorId]);
							const followSeconds = Number(this.getNodeParameter('followSeconds', i, 0)) || 0;
							const result = await syncDatabase(session.pool, engine, {
								connectorName: rows[0].name,
								config: parsed,
								run,
								fdw,
								cdc: { followMs: followSeconds * 1000 },
							});
							return { summary: { ...result } as unknown as IDataObject, metadata: dbRunMetadata(result) };
						},
						// Where it reads, for alert grouping: server and database, never the user or password.
						{ secrets: [settings.password].filter(Boolean), source: `${engineName} ${settings.host}:${settings.port} db ${settings.database}` },
					);
				} finally {
					await engine.close();
				}
			},
			(error, i) => (error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets)),
		);
	} finally {
		await session.close();
	}
}
