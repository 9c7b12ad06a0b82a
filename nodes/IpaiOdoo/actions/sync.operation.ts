/** Sync to Lakehouse: each selected model streamed into bronze under one connector run. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { failRun, finishRun, heartbeat, startRun } from '../../../lib/lakehouse/runs';
import { syncModel, type ModelSyncResult } from '../../../lib/sources/odoo';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { plain } from '../../IpaiConnectorRun/actions/context';
import { connectOdoo } from '../transport';
import { parseDomain } from './domain';

export async function sync(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const lakehouse = await openLakehouse(this);
	try {
		for (let i = 0; i < items.length; i++) {
			let secrets = lakehouse.secrets;
			let ownRunId: string | undefined;
			try {
				const { odoo, secrets: odooSecrets } = await connectOdoo(this);
				secrets = [...secrets, ...odooSecrets];
				const options = this.getNodeParameter('syncOptions', i, {}) as IDataObject;
				const models = this.getNodeParameter('models', i) as string[];
				if (models.length === 0) throw new NodeOperationError(this.getNode(), 'Choose at least one model to sync', { itemIndex: i });
				const domain = parseDomain(this, i);

				let runId = this.getNodeParameter('runId', i, '') as string;
				let connectorId: string;
				if (runId) {
					const { rows } = await lakehouse.pool.query('select connector_id, status from public.ipai_connector_run where id = $1', [runId]);
					if (rows[0]?.status !== 'running') throw new NodeOperationError(this.getNode(), `Run ${runId} is not a running run`, { itemIndex: i });
					connectorId = rows[0].connector_id;
				} else {
					const credentials = await this.getCredentials('ipaiOdooApi');
					const started = await startRun(lakehouse.pool, {
						connector: {
							connectorType: 'odoo',
							name: (this.getNodeParameter('connectorName', i, '') as string) || `odoo-${String(credentials.database)}`,
							config: { url: String(credentials.url), database: String(credentials.database), models },
						},
						holder: `n8n execution ${this.getExecutionId()}`,
						metadata: { n8n_execution_id: this.getExecutionId(), n8n_workflow_id: this.getWorkflow().id },
					});
					if (started.status === 'skipped') {
						out.push({ json: plain(started as unknown as IDataObject), pairedItem: { item: i } });
						continue;
					}
					({ runId, connectorId } = started);
					ownRunId = runId;
				}

				const results: ModelSyncResult[] = [];
				for (const model of models) {
					const result = await syncModel(lakehouse.pool, odoo, { connectorId, runId }, {
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
					});
					results.push(result);
					await heartbeat(lakehouse.pool, runId, { metadata: { odoo_models_done: results.map((r) => r.model) } });
				}
				const summary = {
					runId,
					connectorId,
					odooVersion: odoo.version.serverVersion,
					protocol: odoo.protocol,
					rpcCalls: odoo.totalCalls,
					rowsRead: results.reduce((n, r) => n + r.rowsRead, 0),
					rowsWritten: results.reduce((n, r) => n + r.rowsWritten, 0),
					models: results,
				};
				if (ownRunId) await finishRun(lakehouse.pool, ownRunId, { metadata: { odoo_rpc_calls: odoo.totalCalls, odoo_version: odoo.version.serverVersion } });
				out.push({ json: plain(summary as unknown as IDataObject), pairedItem: { item: i } });
			} catch (error) {
				// The failed run keeps every page committed before the failure.
				if (ownRunId) await failRun(lakehouse.pool, ownRunId, { error, secrets }).catch(() => undefined);
				const safe = error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets);
				if (this.continueOnFail()) {
					out.push({ json: { error: safe.message }, pairedItem: { item: i } });
					continue;
				}
				throw safe;
			}
		}
	} finally {
		await lakehouse.close();
	}
	return out;
}
