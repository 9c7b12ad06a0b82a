/** Unsilence: end a silence now. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { expireSilence } from '../../../lib/slo/silences';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import { forOperations } from '../../shared/resources';
import type { Operation } from './common';

export const description: INodeProperties[] = forOperations(['unsilence'], [
	{
		displayName: 'Silence ID',
		name: 'silenceId',
		type: 'string',
		default: '={{ $json.id }}',
		required: true,
	},
	{
		displayName: 'Expired By',
		name: 'expiredBy',
		type: 'string',
		default: '',
		placeholder: 'alice',
	},
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const expired = await expireSilence(
			session.pool,
			String(this.getNodeParameter('silenceId', i)).trim(),
			(this.getNodeParameter('expiredBy', i, '') as string) || `n8n execution ${this.getExecutionId()}`,
		);
		return plain(expired as unknown as IDataObject);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
