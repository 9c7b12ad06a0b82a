/** List Expectations: one item per definition. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { listExpectations } from '../../../lib/dq/definitions';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';

export const listExpectationsOperation: Operation = async function (this: IExecuteFunctions, session, items) {
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
