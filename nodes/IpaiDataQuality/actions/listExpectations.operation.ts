/** List Expectations: one item per definition. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { listExpectations } from '../../../lib/dq/definitions';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';

/** Its one field, Table, is shared with List Results (./common.ts). */
export const description: INodeProperties[] = [];

export const execute: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items.slice(0, 1),
		async (i) => {
			const table = (this.getNodeParameter('filterTable', i, '') as string).trim();
			return (await listExpectations(session.pool, { targetTable: table || undefined })) as unknown as IDataObject[];
		},
		(e, i) => nodeError(this.getNode(), e, i, session.secrets),
	);
};
