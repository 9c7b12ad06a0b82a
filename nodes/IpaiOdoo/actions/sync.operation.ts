/** Sync to Lakehouse: each selected model streamed into bronze under one connector run. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { heartbeat } from '../../../lib/lakehouse/runs';
import { syncModel, type ModelSyncResult } from '../../../lib/sources/odoo';
import { underRun } from '../../shared/connectorRun';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { connectOdoo, ODOO_CREDENTIAL } from '../transport';
import { parseDomain } from './domain';

export async function sync(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const session = await openLakehouse(this);
	try {
		for (let i = 0; i < items.length; i++) {
			let secrets = session.secrets;
			try {
				const { odoo, secrets: odooSecrets } = await connectOdoo(this);
				secrets = [...secrets, ...odooSecrets];
				const options = this.getNodeParameter('syncOptions', i, {}) as IDataObject;
				const models = this.getNodeParameter('models', i) as string[];
				if (models.length === 0) throw new NodeOperationError(this.getNode(), 'Choose at least one model to sync', { itemIndex: i });
				const domain = parseDomain(this, i);
				const credentials = await this.getCredentials(ODOO_CREDENTIAL);
				const connector = {
					connectorType: 'odoo',
					name: `odoo-${String(credentials.database)}`,
					initialConfig: { url: String(credentials.url), database: String(credentials.database), models },
				};
				const summary = await underRun(this, i, session, connector, async (run) => {
					const results: ModelSyncResult[] = [];
					for (const model of models) {
						results.push(
							await syncModel(session.pool, odoo, run, {
								model,
								domain,
								mode: options.mode === 'full' ? 'full' : 'incremental',
								pageSize: options.pageSize as number | undefined,
								overlapSeconds: options.overlapSeconds as number | undefined,
								lang: (options.lang as string) || undefined,
								includeNonStored: options.includeNonStored === true,
								includeBinary: options.includeBinary === true,
								includeOne2many: options.includeOne2many === true,
								deleteScanEveryHours:
									options.deleteScanEveryHours === undefined ? 24 : Number(options.deleteScanEveryHours) < 0 ? null : Number(options.deleteScanEveryHours),
							}),
						);
						await heartbeat(session.pool, run.runId, { metadata: { odoo_models_done: results.map((r) => r.model) } });
					}
					return {
						summary: {
							odooVersion: odoo.version.serverVersion,
							protocol: odoo.protocol,
							rpcCalls: odoo.totalCalls,
							rowsRead: results.reduce((n, r) => n + r.rowsRead, 0),
							rowsWritten: results.reduce((n, r) => n + r.rowsWritten, 0),
							models: results as unknown as IDataObject[],
						},
						metadata: { odoo_rpc_calls: odoo.totalCalls, odoo_version: odoo.version.serverVersion },
					};
				}, { secrets: odooSecrets });
				out.push({ json: summary, pairedItem: { item: i } });
			} catch (error) {
				const safe = error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets);
				if (this.continueOnFail()) {
					out.push({ json: { error: safe.message }, pairedItem: { item: i } });
					continue;
				}
				throw safe;
			}
		}
	} finally {
		await session.close();
	}
	return out;
}
