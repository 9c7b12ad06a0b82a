/** Deactivate: an agent and its login. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { deactivateAgent } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { type Op } from './common';

/** Deactivate shows only the Agent Code Name, which it shares with the other operations (./common.ts). */
export const description: INodeProperties[] = [];

export const execute: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		return (await deactivateAgent(guard.pool, this.getNodeParameter('agent', i) as string)) as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
