/** What Sync and Emit share: which repositories and streams to read, the options, and their readers. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { STREAMS, STREAM_SPECS } from '../../../lib/sources/github/streams';
import type { RepositorySelection } from '../../../lib/sources/github/sync';

const label = (stream: string) =>
	stream
		.split('_')
		.map((w) => (w === 'pull' ? 'Pull' : w[0].toUpperCase() + w.slice(1)))
		.join(' ');

/** Repositories From, the repositories or owner it asks for, and Streams. */
export const selectionFields: INodeProperties[] = [
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
];

export const optionsField: INodeProperties = {
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
};

export function selection(fn: IExecuteFunctions, i: number): RepositorySelection {
	const source = fn.getNodeParameter('repositorySource', i) as string;
	if (source === 'owner') {
		const owner = (fn.getNodeParameter('owner', i) as string).trim();
		if (!owner) throw new NodeOperationError(fn.getNode(), 'Give the organization or user whose repositories to read', { itemIndex: i });
		return { mode: 'owner', owner };
	}
	if (source === 'authenticated') return { mode: 'authenticated' };
	const raw = fn.getNodeParameter('repositories', i, []) as string[] | string;
	const repositories = (Array.isArray(raw) ? raw : String(raw).split(',')).map((r) => r.trim()).filter(Boolean);
	if (repositories.length === 0) throw new NodeOperationError(fn.getNode(), 'Choose at least one repository (owner/name)', { itemIndex: i });
	return { mode: 'list', repositories };
}

export function readOptions(fn: IExecuteFunctions, i: number) {
	const options = fn.getNodeParameter('options', i, {}) as IDataObject;
	const number = (name: string) => (options[name] === undefined || options[name] === '' ? undefined : Number(options[name]));
	return {
		perPage: number('perPage'),
		startDate: options.startDate ? String(options.startDate) : undefined,
		runsReReadDays: number('runsReReadDays'),
		commitLookbackHours: number('commitLookbackHours'),
		deleteScanHours: number('deleteScanHours'),
		maxWaitSeconds: number('maxWaitSeconds'),
	};
}
