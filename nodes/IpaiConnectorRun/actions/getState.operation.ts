/** Get State: read the cursor and state of a connector's streams. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { getStreamState, listStreamStates } from '../../../lib/lakehouse/streamState';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';
import { connectorIdOf } from './common';

export const description: INodeProperties[] = forOperations(['getState'], [
	{
		displayName: 'Stream',
		name: 'stream',
		type: 'string',
		default: '',
		description: 'The stream, e.g. account.move; empty returns every stream of the connector',
	},
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const type = this.getNodeParameter('connectorType', i) as string;
		const name = this.getNodeParameter('connectorName', i) as string;
		const stream = this.getNodeParameter('stream', i, '') as string;
		const connectorId = await connectorIdOf(session.pool, type, name);
		if (!connectorId) throw new NodeOperationError(this.getNode(), `No connector ${type}/${name} is registered`, { itemIndex: i });
		if (stream) return { connectorId, stream, ...(await getStreamState(session.pool, connectorId, stream)) } as IDataObject;
		return (await listStreamStates(session.pool, connectorId)).map((s) => ({ connectorId, ...s })) as unknown as IDataObject[];
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
