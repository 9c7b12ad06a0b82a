/** Finish: record a successful run and release the connector. */
import type { INodeProperties } from 'n8n-workflow';
import { finishRun } from '../../../lib/lakehouse/runs';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, type Operation } from '../../shared/items';
import { logConnectorRun } from '../../shared/log';
import { counts } from './common';

/** Its fields (Run ID, counts, metadata) are Heartbeat's too: ./common.ts, shown by ../description.ts. */
export const description: INodeProperties[] = [];

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const runId = this.getNodeParameter('runId', i) as string;
		const { durationMs } = await finishRun(session.pool, runId, { ...counts(this, i), metadata: objectParameter(this, 'metadata', i) });
		await logConnectorRun(this, session.pool, runId, session.secrets);
		return { runId, status: 'success', durationMs };
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
