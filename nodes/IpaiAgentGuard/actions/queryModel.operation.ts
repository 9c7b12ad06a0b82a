/** Query Model (tool): a semantic model queried as the agent; a refusal is the tool's answer. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { queryModelTool } from '../../../lib/agents';
import { callContext, eachToolCall, type Op } from './common';
import { LIMIT_FIELD, forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['queryModel'], [
	{ displayName: 'Filters', name: 'filters', type: 'string', default: '{}', placeholder: '{"company_id": 1, "month": {"gte": "2026-01-01"}}', description: 'JSON object: column → value, [values] or {operator: value}; operators eq, ne, lt, lte, gt, gte, in, not_in, between, contains, starts_with, is_null' },
	{ displayName: 'Group By', name: 'groupBy', type: 'string', default: '', placeholder: 'month, account_group', description: 'Comma-separated declared dimensions' },
	{ displayName: 'Measures', name: 'measures', type: 'string', default: '', placeholder: 'amount', description: 'Comma-separated declared measures, aggregated with their declared aggregate' },
	{ displayName: 'Columns', name: 'columns', type: 'string', default: '', description: 'Comma-separated columns to return when nothing is aggregated (empty: all declared columns)' },
	{ displayName: 'Order By', name: 'orderBy', type: 'string', default: '', placeholder: 'month desc, account_group' },
	LIMIT_FIELD,
]);

export const execute: Op = async function (guard, session, items) {
	return eachToolCall(this, session, items, async (i) => {
		const result = await queryModelTool(guard, this.getNodeParameter('agent', i) as string, this.getNodeParameter('model', i) as string, {
			filters: this.getNodeParameter('filters', i, '') as unknown,
			groupBy: this.getNodeParameter('groupBy', i, '') as unknown,
			measures: this.getNodeParameter('measures', i, '') as unknown,
			columns: this.getNodeParameter('columns', i, '') as unknown,
			orderBy: this.getNodeParameter('orderBy', i, '') as unknown,
			limit: this.getNodeParameter('limit', i, 100) as unknown,
		}, callContext(this, i));
		return { model: result.model, rowCount: result.rowCount, truncated: result.truncated, columns: result.columns, rows: result.rows as IDataObject[], runId: result.runId };
	});
};
