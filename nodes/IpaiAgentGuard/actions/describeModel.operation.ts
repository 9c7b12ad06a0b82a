/** Describe Model (tool): a semantic model's fields as the agent may use them. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { describeModelTool } from '../../../lib/agents';
import { callContext, eachToolCall, type Op } from './common';

/** Model, Channel and Session ID are shared with Query Model (./common.ts). */
export const description: INodeProperties[] = [];

export const execute: Op = async function (guard, session, items) {
	return eachToolCall(this, session, items, async (i) =>
		(await describeModelTool(guard, this.getNodeParameter('agent', i) as string, this.getNodeParameter('model', i) as string, callContext(this, i))) as IDataObject,
	);
};
