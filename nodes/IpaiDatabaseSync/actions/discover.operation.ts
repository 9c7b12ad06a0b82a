/** Discover: a schema's tables, each with its columns, key and bronze types (one item per table). */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { perItem } from '../../shared/items';
import { nodeError } from '../../shared/lakehouse';
import { openEngine } from '../transport';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['discover'], [
	{
		displayName: 'Schema',
		name: 'schema',
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		required: true,
		description: 'The schema whose tables to list',
		modes: [
			{ displayName: 'From List', name: 'list', type: 'list', typeOptions: { searchListMethod: 'searchSchemas', searchable: true } },
			{ displayName: 'Name', name: 'name', type: 'string', placeholder: 'public' },
		],
	},
]);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	let secrets: string[] = [];
	return perItem(
		this,
		items,
		async (i) => {
			const schema = String(this.getNodeParameter('schema', i, '', { extractValue: true }) ?? '').trim();
			const { engine, settings } = await openEngine(this, this.getNodeParameter('engine', i) as string);
			secrets = [settings.password].filter(Boolean);
			try {
				const out: IDataObject[] = [];
				for (const table of await engine.listTables(schema)) {
					const info = await engine.describeTable(table);
					out.push({
						schema: info.schema,
						table: info.name,
						estimatedRows: info.estimatedRows,
						primaryKey: info.primaryKey,
						columns: info.columns.map((c) => ({ name: c.name, sourceType: c.sourceType, nullable: c.nullable, bronzeType: c.bronzeType ?? 'no mapping' })),
						unmapped: info.columns.filter((c) => c.bronzeType === null).map((c) => c.name),
					});
				}
				return out;
			} finally {
				await engine.close();
			}
		},
		(error, i) => nodeError(this.getNode(), error, i, secrets),
	);
}
