import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import type { AgentGuard } from '../../../lib/agents';
import { chosenOperation } from '../../shared/items';
import { openLakehouse } from '../../shared/lakehouse';
import * as authorize from './authorize.operation';
import type { Op } from './common';
import * as deactivate from './deactivate.operation';
import * as describeModel from './describeModel.operation';
import * as list from './list.operation';
import * as log from './log.operation';
import * as mcpServer from './mcpServer.operation';
import * as query from './query.operation';
import * as queryModel from './queryModel.operation';
import * as register from './register.operation';

const OPERATIONS: Record<string, Op> = {
	query: query.execute,
	authorize: authorize.execute,
	log: log.execute,
	register: register.execute,
	deactivate: deactivate.execute,
	list: list.execute,
	describeModel: describeModel.execute,
	queryModel: queryModel.execute,
	mcpServer: mcpServer.execute,
};

/** The process's guard pool for the credential; agents' queries run on their own logins' pools (lib/agents/agentPools). */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const run = chosenOperation(this, OPERATIONS);
	const session = await openLakehouse(this);
	try {
		const guard: AgentGuard = { pool: session.pool, connection: session.connection };
		return [await run.call(this, guard, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
