import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { openLakehouse } from '../../shared/lakehouse';
import { chosenOperation, type Operation } from '../../shared/items';
import * as dispatch from './dispatch.operation';
import * as fail from './fail.operation';
import * as finish from './finish.operation';
import * as getRuns from './getRuns.operation';
import * as getState from './getState.operation';
import * as heartbeat from './heartbeat.operation';
import * as loadItems from './loadItems.operation';
import * as refresh from './refresh.operation';
import * as setState from './setState.operation';
import * as start from './start.operation';

const OPERATIONS: Record<string, Operation> = {
	start: start.execute,
	dispatch: dispatch.execute,
	heartbeat: heartbeat.execute,
	finish: finish.execute,
	fail: fail.execute,
	getRuns: getRuns.execute,
	getState: getState.execute,
	setState: setState.execute,
	loadItems: loadItems.execute,
	refresh: refresh.execute,
};

/** One pool per execution of the node, shared by all its items and closed when they are done. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const run = chosenOperation(this, OPERATIONS);
	const session = await openLakehouse(this);
	try {
		return [await run.call(this, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
