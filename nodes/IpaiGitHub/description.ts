import type { INodeProperties } from 'n8n-workflow';
import { STREAMS, STREAM_SPECS } from '../../lib/sources/github/streams';
import { runParameters } from '../shared/connectorRun';

const label = (stream: string) =>
	stream
		.split('_')
		.map((w) => (w === 'pull' ? 'Pull' : w[0].toUpperCase() + w.slice(1)))
		.join(' ');

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Sync to Lakehouse',
				value: 'sync',
				action: 'Sync into bronze',
				description: 'Stream the chosen streams into ipai_bronze_devops, incrementally, with a run row and per-repository cursors',
			},
			{
				name: 'Emit Records',
				value: 'emit',
				action: 'Emit records',
				description: 'Read up to a limit of records and pass them on as items (no lakehouse, no cursor)',
			},
		],
		default: 'sync',
	},
	{
		displayName: 'Repositories From',
		name: 'repositorySource',
		type: 'options',
		options: [
			{ name: 'Chosen Repositories', value: 'list' },
			{ name: 'Organization or User', value: 'owner', description: 'Every repository of an organization or user' },
			{ name: 'Everything the Credential Can See', value: 'authenticated' },
		],
		default: 'list',
		// A dispatched connector names its repositories in its config.
		displayOptions: { hide: { connectorFrom: ['input'] } },
	},
	{
		displayName: 'Repository Names or IDs',
		name: 'repositories',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getRepositories' },
		default: [],
		required: true,
		description: 'Repositories as owner/name. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: { show: { repositorySource: ['list'] }, hide: { connectorFrom: ['input'] } },
	},
	{
		displayName: 'Owner',
		name: 'owner',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'my-org',
		description: 'Organization or user login',
		displayOptions: { show: { repositorySource: ['owner'] }, hide: { connectorFrom: ['input'] } },
	},
	{
		displayName: 'Streams',
		name: 'streams',
		type: 'multiOptions',
		options: STREAMS.map((stream) => ({ name: label(stream), value: stream, description: STREAM_SPECS[stream].strategy })),
		default: ['repositories', 'issues', 'pull_requests', 'workflow_runs'],
		description: 'What to read. Child streams (reviews, jobs, deployment statuses) read their parents from bronze: sync the parent stream too.',
	},
	...runParameters({ operation: ['sync'] }, { placeholder: 'github', description: 'The connector this sync runs as; cursors are kept per connector (default: github)' }),
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['emit'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{ displayName: 'Commit Look-Back (Hours)', name: 'commitLookbackHours', type: 'number', default: 24, description: 'Commits with committer dates this much older than the newest seen are read again (late pushes)' },
			{
				displayName: 'Delete Scan Every (Hours)',
				name: 'deleteScanHours',
				type: 'number',
				default: 24,
				description:
					'How often issues and pull requests are checked for deletes and transfers (a listing of every issue number, then one request per missing one); 0 checks every sync, -1 never',
			},
			{ displayName: 'Max Rate-Limit Wait (Seconds)', name: 'maxWaitSeconds', type: 'number', default: 900, description: 'Longest wait for a rate-limit reset; past it the sync stops and says when to run again' },
			{ displayName: 'Page Size', name: 'perPage', type: 'number', typeOptions: { minValue: 1, maxValue: 100 }, default: 100 },
			{ displayName: 'Start Date', name: 'startDate', type: 'dateTime', default: '', description: 'Oldest data read on a first sync; empty reads everything' },
			{ displayName: 'Workflow Runs Re-Read (Days)', name: 'runsReReadDays', type: 'number', default: 32, description: 'Runs created this recently are read again every sync (they can be re-run for 30 days)' },
		],
	},
];
