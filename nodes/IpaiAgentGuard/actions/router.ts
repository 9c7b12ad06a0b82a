import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import type { AgentGuard } from '../../../lib/agents';
import { openLakehouse } from '../../shared/lakehouse';
import { authorizeOperation } from './authorize.operation';
import type { Op } from './common';
import { deactivateOperation } from './deactivate.operation';
import { describeModelOperation } from './describeModel.operation';
import { listOperation } from './list.operation';
import { logOperation } from './log.operation';
import { mcpServerOperation } from './mcpServer.operation';
import { queryOperation } from './query.operation';
import { queryModelOperation } from './queryModel.operation';
import { registerOperation } from './register.operation';

const OPERATIONS: Record<string, Op> = {
	query: queryOperation,
	authorize: authorizeOperation,
	log: logOperation,
	register: registerOperation,
	deactivate: deactivateOperation,
	list: listOperation,
	describeModel: describeModelOperation,
	queryModel: queryModelOperation,
	mcpServer: mcpServerOperation,
};

/** The process's guard pool for the credential; agents' queries run on their own logins' pools (lib/agents/agentPools). */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = OPERATIONS[operation];
	if (!run) throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
	const session = await openLakehouse(this);
	try {
		const guard: AgentGuard = { pool: session.pool, connection: session.connection };
		return [await run.call(this, guard, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
