/** Sync to Lakehouse: each selected model streamed into bronze under one connector run. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { syncModels, type ModelSyncResult } from '../../../lib/sources/odoo';
import { dispatchedConnector, sourceName, underRun } from '../../shared/connectorRun';
import { perItem } from '../../shared/items';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { connectOdoo, ODOO_CREDENTIAL, odooCredentials } from '../transport';
import { parseDomain } from './domain';

export async function sync(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const session = await openLakehouse(this);
	let secrets = session.secrets;
	try {
		return await perItem(
			this,
			this.getInputData(),
			async (i) => {
				secrets = session.secrets;
				// The connector is named from the credential alone, so the run is open before Odoo is
				// contacted: a wrong key, an unknown database or an unreachable URL is a failed run.
				const { credentials } = odooCredentials(await this.getCredentials(ODOO_CREDENTIAL));
				secrets = [...secrets, credentials.secret].filter(Boolean);
				const dispatched = dispatchedConnector(this, i, 'odoo')?.config;
				const models = (dispatched?.models as string[] | undefined) ?? (this.getNodeParameter('models', i) as string[]);
				const connector = {
					connectorType: 'odoo',
					name: `odoo-${credentials.database}`,
					initialConfig: { url: credentials.url, database: credentials.database, models },
				};
				return await underRun(
					this,
					i,
					session,
					connector,
					async (run) => {
						if (models.length === 0) throw new NodeOperationError(this.getNode(), 'Choose at least one model to sync', { itemIndex: i });
						const options = this.getNodeParameter('syncOptions', i, {}) as IDataObject;
						const domain = parseDomain(this, i);
						const { odoo } = await connectOdoo(this);
						const results: ModelSyncResult[] = await syncModels(session.pool, odoo, run, models, {
							domain,
							mode: (dispatched?.mode ?? options.mode) === 'full' ? 'full' : 'incremental',
							pageSize: options.pageSize as number | undefined,
							overlapSeconds: options.overlapSeconds as number | undefined,
							lang: (options.lang as string) || undefined,
							includeNonStored: options.includeNonStored === true,
							includeBinary: options.includeBinary === true,
							includeOne2many: options.includeOne2many === true,
							deleteScanEveryHours:
								options.deleteScanEveryHours === undefined ? 24 : Number(options.deleteScanEveryHours) < 0 ? null : Number(options.deleteScanEveryHours),
						});
						return {
							summary: {
								odooVersion: odoo.version.serverVersion,
								protocol: odoo.protocol,
								...(odoo.tried.length > 0 ? { protocolsPassedOver: odoo.tried } : {}),
								rpcCalls: odoo.totalCalls,
								rowsRead: results.reduce((n, r) => n + r.rowsRead, 0),
								rowsWritten: results.reduce((n, r) => n + r.rowsWritten, 0),
								models: results as unknown as IDataObject[],
							},
							metadata: { odoo_rpc_calls: odoo.totalCalls, odoo_version: odoo.version.serverVersion, odoo_protocol: odoo.protocol, odoo_models_done: results.map((r) => r.model) },
						};
					},
					{ secrets: [credentials.secret].filter(Boolean), source: sourceName('odoo', credentials.url, `db ${credentials.database}`) },
				);
			},
			(error, i) => (error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets)),
		);
	} finally {
		await session.close();
	}
}
