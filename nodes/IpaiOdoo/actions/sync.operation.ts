/** Sync to Lakehouse: each selected model streamed into bronze under one connector run. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { syncModels, type ModelSyncResult } from '../../../lib/sources/odoo';
import { dispatchedConnector, runParameters, sourceName, underRun } from '../../shared/connectorRun';
import { perItem } from '../../shared/items';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { connectOdoo, ODOO_CREDENTIAL, odooCredentials } from '../transport';
import { parseDomain } from './domain';
import { forOperations } from '../../shared/resources';

/** Models, shown above the Domain filter Sync shares with Emit (../description.ts). */
export const selection: INodeProperties[] = forOperations(['sync'], [
	{
		displayName: 'Model Names or IDs',
		name: 'models',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getModels' },
		default: ['account.move', 'account.move.line', 'account.account', 'account.journal', 'res.partner'],
		required: true,
		description:
			'Models to sync, each into ipai_bronze_erp.odoo_<model>. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
]);

/** Sync's fields below the Domain filter. */
export const description: INodeProperties[] = forOperations(['sync'], [
	...runParameters({}, {
		placeholder: 'odoo-production',
		description: 'Name of the connector when the node runs its own run; defaults to odoo-&lt;database&gt;',
	}),
	{
		displayName: 'Options',
		name: 'syncOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Delete Scan Every (Hours)',
				name: 'deleteScanEveryHours',
				type: 'number',
				default: 24,
				description: 'How often an ID-only scan marks records deleted in Odoo; 0 scans every run, -1 never',
			},
			{
				displayName: 'Include Binary Fields',
				name: 'includeBinary',
				type: 'boolean',
				default: false,
			},
			{
				displayName: 'Include Non-Stored Fields',
				name: 'includeNonStored',
				type: 'boolean',
				default: false,
				description: 'Whether to read computed fields that Odoo does not store (slower; their changes do not bump write_date)',
			},
			{
				displayName: 'Include One2many Fields',
				name: 'includeOne2many',
				type: 'boolean',
				default: false,
			},
			{
				displayName: 'Language',
				name: 'lang',
				type: 'string',
				default: 'en_US',
				description: 'Language of translated fields, pinned so bronze does not change with the user\'s language',
			},
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				options: [
					{ name: 'Incremental (Full on First Run)', value: 'incremental' },
					{ name: 'Full', value: 'full' },
				],
				default: 'incremental',
			},
			{
				displayName: 'Overlap (Seconds)',
				name: 'overlapSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 600,
				description: 'Each incremental read starts this long before the cursor, for transactions that commit after their write_date',
			},
			{
				displayName: 'Page Size',
				name: 'pageSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10000 },
				default: 2000,
				description: 'Records per RPC call and per lakehouse transaction',
			},
		],
	},
]);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
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
