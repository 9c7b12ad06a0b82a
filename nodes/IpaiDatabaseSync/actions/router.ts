import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { chosenOperation } from '../../shared/items';
import * as discover from './discover.operation';
import * as sync from './sync.operation';

const OPERATIONS = { sync: sync.execute, discover: discover.execute };

/** Sync opens its own lakehouse session (Discover needs none). */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return [await chosenOperation(this, OPERATIONS).call(this)];
}
