/** Heartbeat: keep a long run's lease and report its progress. */
import type { INodeProperties } from 'n8n-workflow';
import { heartbeat } from '../../../lib/lakehouse/runs';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, type Operation } from '../../shared/items';
import { counts } from './common';

/** Its fields (Run ID, counts, metadata) are Finish's too: ./common.ts, shown by ../description.ts. */
export const description: INodeProperties[] = [];

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const runId = this.getNodeParameter('runId', i) as string;
		await heartbeat(session.pool, runId, { ...counts(this, i), metadata: objectParameter(this, 'metadata', i) });
		return { runId, status: 'running' };
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
