/** MCP Server: the tools and workflow an MCP client connects to for this agent. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { agentToolPlan, mcpServerSetup } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { optional, type Op } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['mcpServer'], [
	{ displayName: 'N8n Base URL', name: 'n8nBaseUrl', type: 'string', default: '', required: true, placeholder: 'https://n8n.example.com', description: 'Where MCP clients reach this n8n' },
	{ displayName: 'Lakehouse Credential Name', name: 'lakehouseCredentialName', type: 'string', default: 'IPAI Lakehouse (agent guard)', description: 'The n8n credential the generated tool nodes use (a guard login)' },
]);

export const execute: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		const baseUrl = (this.getNodeParameter('n8nBaseUrl', i, '') as string).trim();
		if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) {
			throw new NodeOperationError(this.getNode(), `n8n Base URL "${baseUrl}" is not an http(s) URL`, { itemIndex: i });
		}
		const plan = await agentToolPlan(guard, this.getNodeParameter('agent', i) as string);
		return mcpServerSetup(plan, {
			baseUrl,
			credentialName: optional(this.getNodeParameter('lakehouseCredentialName', i, '')) ?? undefined,
		}) as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
