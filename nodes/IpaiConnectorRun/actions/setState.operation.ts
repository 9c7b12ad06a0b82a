/** Set State: set or reset the cursor of a connector stream, e.g. to re-sync from a date. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { registerConnector } from '../../../lib/lakehouse/runs';
import { deleteStreamState, setStreamState } from '../../../lib/lakehouse/streamState';
import { nodeError } from '../../shared/lakehouse';
import { jsonParameter, perItem, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';
import { connectorIdOf } from './common';

export const description: INodeProperties[] = forOperations(['setState'], [
	{
		displayName: 'Stream',
		name: 'stream',
		type: 'string',
		default: '',
		required: true,
		description: 'The stream whose state to set, e.g. account.move',
	},
	{
		displayName: 'Action',
		name: 'stateAction',
		type: 'options',
		options: [
			{ name: 'Set Cursor', value: 'setCursor', description: 'The next run resumes from this cursor' },
			{ name: 'Reset', value: 'reset', description: 'Forget the state: the next run is a full sync' },
		],
		default: 'setCursor',
	},
	{
		displayName: 'Cursor',
		name: 'cursor',
		type: 'json',
		default: '""',
		description: 'The cursor as JSON, e.g. "2024-01-01 00:00:00" for an Odoo write_date cursor',
		displayOptions: { show: { stateAction: ['setCursor'] } },
	},
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const type = this.getNodeParameter('connectorType', i) as string;
		const name = this.getNodeParameter('connectorName', i) as string;
		const stream = this.getNodeParameter('stream', i) as string;
		if (this.getNodeParameter('stateAction', i) === 'reset') {
			const connectorId = await connectorIdOf(session.pool, type, name);
			const removed = connectorId ? await deleteStreamState(session.pool, connectorId, stream) : false;
			return { connectorId, stream, reset: removed };
		}
		const client = await session.pool.connect();
		try {
			const connectorId = await registerConnector(client, { connectorType: type, name });
			const cursor = jsonParameter(this, 'cursor', i, null);
			await setStreamState(client, connectorId, stream, { cursor });
			return { connectorId, stream, cursor } as IDataObject;
		} finally {
			client.release();
		}
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
