/** Dropdowns of lakehouse tables, their columns and layer schemas, and the credential test. */
import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';
import { listTargetColumns, listTargetTables } from '../../../lib/dq/definitions';
import { lakehouseSchemas, testLakehouseCredential, withLakehousePool } from '../../shared/lakehouse';

export const credentialTest = { lakehouseConnectionTest: testLakehouseCredential };

/** The columns of the table a field names, as options; none until a table is chosen. */
async function columnsOf(fn: ILoadOptionsFunctions, tableParameter: string): Promise<INodePropertyOptions[]> {
	const table = String(fn.getCurrentNodeParameter(tableParameter) ?? '');
	if (!table) return [];
	return withLakehousePool(fn, async (pool) => (await listTargetColumns(pool, table)).map((c) => ({ name: `${c.name} (${c.type})`, value: c.name })));
}

export const loadOptions = {
	async getTables(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
		return withLakehousePool(this, async (pool) => (await listTargetTables(pool)).map((t) => ({ name: t, value: t })));
	},
	async getColumns(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
		return columnsOf(this, 'targetTable');
	},
	async getReferencedColumns(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
		return columnsOf(this, 'toTable');
	},
	async getSchemas(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
		return lakehouseSchemas(this, '^ipai_(bronze|silver|gold|platinum)_');
	},
};
