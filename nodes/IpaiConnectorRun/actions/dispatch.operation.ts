/** Dispatch: the connectors to run now — due by their schedule (claimed once), or named on request. */
import type { IDataObject } from 'n8n-workflow';
import { claimDueConnectors, requestedConnectors } from '../../../lib/lakehouse/dispatch';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export const dispatch: Operation = async function (session, items) {
	const workflow = this.getWorkflow();
	// Due connectors are claimed once per execution, whatever the number of incoming items.
	const inputs = this.getNodeParameter('dispatchMode', 0) === 'due' ? items.slice(0, 1) : items;
	return perItem(this, inputs, async (i) => {
		const due = this.getNodeParameter('dispatchMode', i) === 'due';
		const found = due
			? await claimDueConnectors(session.pool, {
					types: list(this.getNodeParameter('connectorTypes', i, '') as string),
					dispatcher: `n8n execution ${this.getExecutionId()} (workflow "${workflow.name ?? workflow.id}")`,
				})
			: await requestedConnectors(session.pool, list(this.getNodeParameter('connectors', i) as string));
		return found as unknown as IDataObject[];
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
