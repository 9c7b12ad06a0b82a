/** Get State and Set State: read or reset a connector stream's cursor. */
import type { IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { registerConnector } from '../../../lib/lakehouse/runs';
import { deleteStreamState, getStreamState, listStreamStates, setStreamState } from '../../../lib/lakehouse/streamState';
import { nodeError } from '../../shared/lakehouse';
import { jsonParameter, perItem, type Operation } from '../../shared/items';

async function connectorIdOf(pool: import('pg').Pool, type: string, name: string): Promise<string | null> {
	const { rows } = await pool.query('select id from public.ipai_connector_config where connector_type = $1 and name = $2', [type, name]);
	return rows[0]?.id ?? null;
}

export const getState: Operation = async function (session, items) {
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

export const setState: Operation = async function (session, items) {
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
