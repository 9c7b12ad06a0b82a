/** Set SLO: create or update an SLO by code name. */
import type { IDataObject } from 'n8n-workflow';
import { upsertSlo } from '../../../lib/slo/definitions';
import type { SliType } from '../../../lib/slo/types';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, plain } from '../../shared/items';
import type { Operation } from './context';

export const setSlo: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const sliType = this.getNodeParameter('sliType', i) as SliType;
		const connectorType = (this.getNodeParameter('connectorType', i, '') as string).trim();
		const connectorName = (this.getNodeParameter('connectorName', i, '') as string).trim();
		if (Boolean(connectorType) !== Boolean(connectorName)) {
			throw new Error('Give both Connector Type and Connector Name for a one-connector SLO, or neither for a template over every connector');
		}
		const labels = objectParameter(this, 'labels', i);
		const slo = await upsertSlo(session.pool, {
			codeName: this.getNodeParameter('codeName', i) as string,
			sliType,
			objective: this.getNodeParameter('objective', i) as number,
			period: this.getNodeParameter('period', i) as string,
			connector: connectorType ? { connectorType, name: connectorName } : null,
			params: objectParameter(this, 'params', i),
			labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
			description: (this.getNodeParameter('sloDescription', i, '') as string) || null,
			runbookUrl: (this.getNodeParameter('runbookUrl', i, '') as string) || null,
			enabled: this.getNodeParameter('enabled', i, true) as boolean,
		});
		return plain(slo as unknown as IDataObject);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
