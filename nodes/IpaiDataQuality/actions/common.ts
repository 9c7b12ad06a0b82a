/** Fields several Data Quality operations show, defined once (shown per operation by ../description.ts). */
import type { INodeProperties } from 'n8n-workflow';

export const targetTableField: INodeProperties = {
	displayName: 'Table Name or ID',
	name: 'targetTable',
	type: 'options',
	typeOptions: { loadOptionsMethod: 'getTables' },
	default: '',
	required: true,
	description: 'The lakehouse table or view (schema.table). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
};

export const nameField: INodeProperties = {
	displayName: 'Expectation Name',
	name: 'name',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'amount_not_negative',
	description: 'Lower-case letters, digits and underscores; unique per table (defining it again replaces it)',
};

export const filterTableField: INodeProperties = {
	displayName: 'Table',
	name: 'filterTable',
	type: 'string',
	default: '',
	placeholder: 'ipai_gold_erp.open_items',
	description: 'Only this table (schema.table); empty for all',
};
