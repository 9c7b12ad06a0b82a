import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import {
	AgentRefusedError,
	agentToolPlan,
	describeModelTool,
	mcpServerSetup,
	queryModelTool,
	type AgentGuard,
} from '../../../lib/agents';
import { nodeError, type LakehouseSession } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';

type Op = (this: IExecuteFunctions, guard: AgentGuard, session: LakehouseSession, items: INodeExecutionData[]) => Promise<INodeExecutionData[]>;

const optional = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

function callContext(fn: IExecuteFunctions, i: number) {
	return {
		sessionId: optional(fn.getNodeParameter('sessionId', i, '')),
		channel: optional(fn.getNodeParameter('channel', i, '')) ?? 'n8n',
		toolName: fn.getNode().name,
	};
}

/**
 * Runs a model tool per item. A refusal is the tool's answer (the calling model reads the reason),
 * anything else an error of the item.
 */
async function each(fn: IExecuteFunctions, session: LakehouseSession, items: INodeExecutionData[], call: (i: number) => Promise<IDataObject>): Promise<INodeExecutionData[]> {
	// A refusal is the tool's answer to the agent (logged by the guard), not a node failure.
	return perItem(
		fn,
		items,
		async (i) => {
			try {
				return await call(i);
			} catch (error) {
				if (!(error instanceof AgentRefusedError)) throw error;
				return { refused: true, code: error.code, reason: error.message, runId: error.runId, ...(error.budget ? { budget: error.budget as unknown as IDataObject } : {}) };
			}
		},
		(error, i) => nodeError(fn.getNode(), error, i, session.secrets),
	);
}

export const describeModelOp: Op = async function (guard, session, items) {
	return each(this, session, items, async (i) =>
		(await describeModelTool(guard, this.getNodeParameter('agent', i) as string, this.getNodeParameter('model', i) as string, callContext(this, i))) as IDataObject,
	);
};

export const queryModelOp: Op = async function (guard, session, items) {
	return each(this, session, items, async (i) => {
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

export const mcpServerOp: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		const baseUrl = (this.getNodeParameter('n8nBaseUrl', i, '') as string).trim();
		if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) {
			throw new NodeOperationError(this.getNode(), `n8n Base URL "${baseUrl}" is not an http(s) URL`, { itemIndex: i });
		}
		const plan = await agentToolPlan(guard, this.getNodeParameter('agent', i) as string);
		return mcpServerSetup(plan, {
			baseUrl,
			credentialName: optional(this.getNodeParameter('lakehouseCredentialName', i, '')) ?? undefined,
		}) as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
