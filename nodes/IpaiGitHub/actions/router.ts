import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { chosenOperation } from '../../shared/items';
import * as emit from './emit.operation';
import * as sync from './sync.operation';

const OPERATIONS = { sync: sync.execute, emit: emit.execute };

/** Sync opens its own lakehouse session (Emit needs none). */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return [await chosenOperation(this, OPERATIONS).call(this, this.getInputData())];
}
