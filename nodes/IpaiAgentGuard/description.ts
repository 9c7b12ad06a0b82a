import type { INodeProperties } from 'n8n-workflow';
import { forOperations, resourceOperations } from '../shared/resources';
import * as authorize from './actions/authorize.operation';
import { agentField, channelField, modelField, sessionIdField, userIdField } from './actions/common';
import * as deactivate from './actions/deactivate.operation';
import * as describeModel from './actions/describeModel.operation';
import * as list from './actions/list.operation';
import * as log from './actions/log.operation';
import * as mcpServer from './actions/mcpServer.operation';
import * as query from './actions/query.operation';
import * as queryModel from './actions/queryModel.operation';
import * as register from './actions/register.operation';

const operation: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: [
		{ name: 'Authorize', value: 'authorize', action: 'Authorize a tool call', description: 'Check an agent may use a tool on a schema for an operation within its budgets' },
		{ name: 'Deactivate', value: 'deactivate', action: 'Deactivate an agent', description: 'Refuse every further call of the agent and disable its database login' },
		{ name: 'Describe Model', value: 'describeModel', action: 'Describe a semantic model for an agent', description: 'The meaning, grain, dimensions, measures and typed columns of one of the agent\'s semantic models' },
		{ name: 'List Agents', value: 'list', action: 'List agents', description: 'List the registered agents' },
		{ name: 'Log', value: 'log', action: 'Log an agent run', description: 'Record an external tool call with its cost, tokens and latency' },
		{ name: 'MCP Server Setup', value: 'mcpServer', action: 'Print an agent s MCP server setup', description: 'The agent\'s MCP endpoint, the client configuration to paste into an MCP client, and the MCP server workflow to import' },
		{ name: 'Query', value: 'query', action: 'Run a read only query for an agent', description: 'Run one read-only SQL query as the agent, within its allowed schemas, row cap and latency budget' },
		{ name: 'Query Model', value: 'queryModel', action: 'Query a semantic model for an agent', description: 'Typed filters, group-by over declared dimensions with declared measures, order and limit on one of the agent\'s models; compiled to SQL with bind parameters' },
		{ name: 'Register or Update', value: 'register', action: 'Register or update an agent', description: 'Create the agent (or change it) and sync its database grants' },
	],
	default: 'query',
};

/**
 * Each operation's own fields come from its file in ./actions; fields several operations show are
 * defined once in ./actions/common.ts and shown for them here, where the editor shows them.
 */
export const properties: INodeProperties[] = [
	...resourceOperations(operation, [
		{ name: 'Agent', value: 'agent', description: 'Register, update, list or deactivate agents; their MCP server setup', operations: ['register', 'deactivate', 'list', 'mcpServer'] },
		{ name: 'Query', value: 'query', description: "Run an agent's read-only SQL or semantic-model queries", operations: ['query', 'describeModel', 'queryModel'] },
		{ name: 'Budget', value: 'budget', description: 'Authorize a tool call within budgets; log a call made outside', operations: ['authorize', 'log'] },
	]),
	...forOperations(['query', 'authorize', 'log', 'register', 'update', 'deactivate', 'describeModel', 'queryModel', 'mcpServer'], [agentField]),
	...query.description,
	...forOperations(['describeModel', 'queryModel'], [modelField]),
	...describeModel.description,
	...queryModel.description,
	...forOperations(['describeModel', 'queryModel'], [channelField]),
	...mcpServer.description,
	...authorize.description,
	...log.description,
	...forOperations(['query', 'authorize', 'log'], [userIdField]),
	...forOperations(['query', 'authorize', 'log', 'describeModel', 'queryModel'], [sessionIdField]),
	...register.description,
	...list.description,
	...deactivate.description,
];
