import type { INodeProperties } from 'n8n-workflow';
import { forOperations, resourceOperations } from '../shared/resources';
import { connectorFields, countFields, metadataField, runIdField } from './actions/common';
import * as dispatch from './actions/dispatch.operation';
import * as fail from './actions/fail.operation';
import * as finish from './actions/finish.operation';
import * as getRuns from './actions/getRuns.operation';
import * as getState from './actions/getState.operation';
import * as heartbeat from './actions/heartbeat.operation';
import * as loadItems from './actions/loadItems.operation';
import * as refresh from './actions/refresh.operation';
import * as setState from './actions/setState.operation';
import * as start from './actions/start.operation';

const operation: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: [
		{
			name: 'Dispatch',
			value: 'dispatch',
			action: 'Dispatch connectors',
			description: 'One item per connector to run now: those whose schedule is due (each tick claimed once), or the ones named',
		},
		{ name: 'Fail', value: 'fail', action: 'Fail a run', description: 'Record a failed run (also from an Error Trigger)' },
		{ name: 'Finish', value: 'finish', action: 'Finish a run', description: 'Record a successful run and release the connector' },
		{ name: 'Get Runs', value: 'getRuns', action: 'Get runs', description: 'List runs from the run ledger' },
		{ name: 'Get State', value: 'getState', action: 'Get stream state', description: 'Read the cursor and state of a connector stream' },
		{ name: 'Heartbeat', value: 'heartbeat', action: 'Send a heartbeat', description: 'Keep a long run alive and report progress' },
		{ name: 'Load Items', value: 'loadItems', action: 'Load items into a bronze table', description: 'Land the incoming items in a bronze table through the lakehouse loader' },
		{ name: 'Refresh Transforms', value: 'refresh', action: 'Refresh transforms', description: 'Refresh the materialized views of lakehouse layers in dependency order' },
		{ name: 'Set State', value: 'setState', action: 'Set stream state', description: 'Set or reset the cursor of a connector stream, e.g. to re-sync from a date' },
		{ name: 'Start', value: 'start', action: 'Start a run', description: 'Register the connector, take its lease and open a run' },
	],
	default: 'start',
};

/**
 * Each operation's own fields come from its file in ./actions; fields several operations show are
 * defined once in ./actions/common.ts and shown for them here, where the editor shows them.
 */
export const properties: INodeProperties[] = [
	...resourceOperations(operation, [
		{ name: 'Run', value: 'run', description: 'Open, keep alive, finish or fail a connector run; read the run ledger', operations: ['start', 'heartbeat', 'finish', 'fail', 'getRuns'] },
		{ name: 'State', value: 'state', description: "A connector stream's cursor and state", operations: ['getState', 'setState'] },
		{ name: 'Data', value: 'data', description: 'Land items in bronze; refresh the transform layers', operations: ['loadItems', 'refresh'] },
		{ name: 'Schedule', value: 'schedule', description: 'Which connectors run now, and their delivery to pipelines', operations: ['dispatch'] },
	]),

	...dispatch.description,
	...forOperations(['start', 'getState', 'setState'], connectorFields()),
	...start.description,
	...forOperations(['finish', 'heartbeat'], [runIdField]),
	...finish.description,
	...heartbeat.description,
	...fail.description,
	...forOperations(['finish', 'heartbeat'], countFields),
	...forOperations(['finish', 'heartbeat', 'fail'], [metadataField]),
	...getRuns.description,
	...getState.description,
	...setState.description,
	...loadItems.description,
	...refresh.description,
];
