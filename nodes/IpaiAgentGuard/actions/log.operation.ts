/** Log Run: record what an agent did (tokens, cost, latency, outcome), settling a reservation. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { logRun } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { optional, identity, type Op } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['log'], [
	{
		displayName: 'Tool',
		name: 'logTool',
		type: 'string',
		default: '',
		required: true,
		description: 'The tool the agent used',
	},
	{
		displayName: 'Status',
		name: 'status',
		type: 'options',
		options: [
			{ name: 'Success', value: 'success' },
			{ name: 'Failed', value: 'failed' },
		],
		default: 'success',
	},
	{ displayName: 'Tokens Used', name: 'tokensUsed', type: 'number', typeOptions: { minValue: 0 }, default: 0 },
	{ displayName: 'Cost (USD)', name: 'costUsd', type: 'number', typeOptions: { minValue: 0, numberPrecision: 6 }, default: 0 },
	{ displayName: 'Latency (Ms)', name: 'latencyMs', type: 'number', typeOptions: { minValue: 0 }, default: 0 },
	{ displayName: 'Input Summary', name: 'inputSummary', type: 'json', default: '{}', description: 'What the tool was asked (never secrets)' },
	{ displayName: 'Output Summary', name: 'outputSummary', type: 'json', default: '{}', description: 'What the tool returned, summarised' },
	{ displayName: 'Error Message', name: 'errorMessage', type: 'string', default: '' },
	{
		displayName: 'Reservation ID',
		name: 'reservationId',
		type: 'string',
		default: '',
		placeholder: '={{ $json.reservationId }}',
		description: 'The reservationId Authorize returned for this call: the actual cost and latency replace what was held. Without it the hold stays until it expires (15 minutes by default).',
	},
]);

export const execute: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		const result = await logRun(guard, this.getNodeParameter('agent', i) as string, {
			tool: this.getNodeParameter('logTool', i) as string,
			status: this.getNodeParameter('status', i, 'success') as 'success' | 'failed',
			tokensUsed: this.getNodeParameter('tokensUsed', i, 0) as number,
			costUsd: this.getNodeParameter('costUsd', i, 0) as number,
			latencyMs: this.getNodeParameter('latencyMs', i, 0) as number,
			inputSummary: objectParameter(this, 'inputSummary', i),
			outputSummary: objectParameter(this, 'outputSummary', i),
			errorMessage: optional(this.getNodeParameter('errorMessage', i, '') as string),
			reservationId: optional(this.getNodeParameter('reservationId', i, '') as string),
		}, identity(this, i));
		await logAgentCall(this, session.pool, result.runId, session.secrets);
		return result as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
