/** Emit Records: a bounded read returned as items, for small pulls that feed other nodes. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { readRecords } from '../../../lib/sources/odoo';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { connectOdoo } from '../transport';
import { parseDomain } from './domain';
import { LIMIT_FIELD, forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['emit'], [
	{
		displayName: 'Model Name or ID',
		name: 'model',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getModels' },
		default: 'res.partner',
		required: true,
		description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
	},
	{
		displayName: 'Field Names or IDs',
		name: 'fields',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getFields', loadOptionsDependsOn: ['model'] },
		default: [],
		description:
			'Fields to read; none selected reads the stored fields. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	LIMIT_FIELD,
]);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	let secrets: string[] = [];
	return perItem(
		this,
		this.getInputData(),
		async (i) => {
			const { odoo, secrets: odooSecrets } = await connectOdoo(this);
			secrets = odooSecrets;
			const records = await readRecords(odoo, {
				model: this.getNodeParameter('model', i) as string,
				fields: this.getNodeParameter('fields', i, []) as string[],
				domain: parseDomain(this, i),
				// n8n holds every item in memory: Emit is for small pulls; Sync streams.
				limit: Math.min(this.getNodeParameter('limit', i, 50) as number, 10_000),
			});
			return records as IDataObject[];
		},
		(error, i) => (error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets)),
	);
}
