/** List: the registered agents. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { listAgents } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { type Op } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['list'], [
	{
		displayName: 'Include Inactive',
		name: 'includeInactive',
		type: 'boolean',
		default: false,
		description: 'Whether to list deactivated agents too',
	},
]);

export const execute: Op = async function (guard, session, items) {
	return perItem(this, items.slice(0, 1), async (i) => {
		const agents = await listAgents(guard.pool, { includeInactive: this.getNodeParameter('includeInactive', i, false) as boolean });
		return agents as unknown as IDataObject[];
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
