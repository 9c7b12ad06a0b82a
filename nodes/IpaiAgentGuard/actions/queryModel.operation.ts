/** Query Model (tool): a semantic model queried as the agent; a refusal is the tool's answer. */
import type { IDataObject } from 'n8n-workflow';
import { queryModelTool } from '../../../lib/agents';
import { callContext, eachToolCall, type Op } from './common';

export const queryModelOperation: Op = async function (guard, session, items) {
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
