/** Discover: a schema's tables, each with its columns, key and bronze types (one item per table). */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { perItem } from '../../shared/items';
import { nodeError } from '../../shared/lakehouse';
import { openEngine } from '../transport';

export async function discover(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
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
