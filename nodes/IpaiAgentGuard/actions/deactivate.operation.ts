/** Deactivate: an agent and its login. */
import type { IDataObject } from 'n8n-workflow';
import { deactivateAgent } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { type Op } from './common';

export const deactivateOperation: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		return (await deactivateAgent(guard.pool, this.getNodeParameter('agent', i) as string)) as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
