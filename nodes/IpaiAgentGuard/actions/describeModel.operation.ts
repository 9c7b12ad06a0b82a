/** Describe Model (tool): a semantic model's fields as the agent may use them. */
import type { IDataObject } from 'n8n-workflow';
import { describeModelTool } from '../../../lib/agents';
import { callContext, eachToolCall, type Op } from './common';

export const describeModelOperation: Op = async function (guard, session, items) {
	return eachToolCall(this, session, items, async (i) =>
		(await describeModelTool(guard, this.getNodeParameter('agent', i) as string, this.getNodeParameter('model', i) as string, callContext(this, i))) as IDataObject,
	);
};
