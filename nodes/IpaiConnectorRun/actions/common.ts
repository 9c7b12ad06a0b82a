/** What several Connector Run operations share: their common fields (defined once, shown per operation by ../description.ts) and readers. */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { Pool } from 'pg';

export const runIdField: INodeProperties = {
	displayName: 'Run ID',
	name: 'runId',
	type: 'string',
	default: '={{ $json.runId }}',
	required: true,
	description: 'The run to act on, as returned by the Start operation',
	hint: "After nodes that replace the items (a source, a Code node), reference the Start node by name: {{ $('Start').first().json.runId }}",
};

export const connectorFields = (required = true): INodeProperties[] => [
	{
		displayName: 'Connector Type',
		name: 'connectorType',
		type: 'string',
		default: '',
		required,
		placeholder: 'odoo',
		description: 'Kind of source: odoo, github, file, or any lower-case name of your own',
	},
	{
		displayName: 'Connector Name',
		name: 'connectorName',
		type: 'string',
		default: '',
		required,
		placeholder: 'odoo-production',
		description: 'Unique per connector type; the connector is registered under this name on first use',
	},
];

/** Finish and Heartbeat: the totals a workflow reports itself. */
export const countFields: INodeProperties[] = [
	{
		displayName: 'Rows Read',
		name: 'rowsRead',
		type: 'number',
		default: -1,
		description: 'Total rows read; -1 keeps what the loaded pages counted',
	},
	{
		displayName: 'Rows Written',
		name: 'rowsWritten',
		type: 'number',
		default: -1,
		description: 'Total rows written; -1 keeps what the loaded pages counted',
	},
];

export const metadataField: INodeProperties = {
	displayName: 'Metadata',
	name: 'metadata',
	type: 'json',
	default: '{}',
	description: 'Extra facts to merge into the run row',
};

export const counts = (fn: IExecuteFunctions, i: number) => {
	const read = fn.getNodeParameter('rowsRead', i, -1) as number;
	const written = fn.getNodeParameter('rowsWritten', i, -1) as number;
	return { rowsRead: read >= 0 ? read : undefined, rowsWritten: written >= 0 ? written : undefined };
};

export async function connectorIdOf(pool: Pool, type: string, name: string): Promise<string | null> {
	const { rows } = await pool.query('select id from public.ipai_connector_config where connector_type = $1 and name = $2', [type, name]);
	return rows[0]?.id ?? null;
}
