/** List Results: recent evaluations, newest first. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { listResults } from '../../../lib/dq/results';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';

export const listResultsOperation: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items.slice(0, 1),
		async (i) => {
			const table = (this.getNodeParameter('filterTable', i, '') as string).trim();
			const hours = this.getNodeParameter('sinceHours', i, 24) as number;
			return (await listResults(session.pool, {
				targetTable: table || undefined,
				status: this.getNodeParameter('statuses', i, []) as string[],
				since: hours > 0 ? new Date(Date.now() - hours * 3_600_000) : undefined,
				limit: this.getNodeParameter('limit', i, 50) as number,
			})) as IDataObject[];
		},
		(e, i) => nodeError(this.getNode(), e, i, session.secrets),
	);
};
