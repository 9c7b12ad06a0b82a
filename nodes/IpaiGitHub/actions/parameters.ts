import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import type { RepositorySelection } from '../../../lib/sources/github/sync';

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
