/**
 * Resource → Operation (version 2) against the flat Operation list (version 1), decided by
 * n8n-workflow's own NodeHelpers.getNodeParameters: for every operation, a node of either version
 * resolves the same parameters with the same defaults (besides `resource`), so moving a workflow
 * to version 2 changes nothing but the picker, and version 1 workflows keep their meaning.
 */
import type { INodeParameters, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';
import { IpaiAgentGuard } from '../../nodes/IpaiAgentGuard/IpaiAgentGuard.node';
import { IpaiConnectorRun } from '../../nodes/IpaiConnectorRun/IpaiConnectorRun.node';
import { IpaiSloMonitor } from '../../nodes/IpaiSloMonitor/IpaiSloMonitor.node';
import { resourceOperations } from '../../nodes/shared/resources';

const NODES: Array<[string, INodeType]> = [
	['IPAI Connector Run', new IpaiConnectorRun()],
	['IPAI SLO Monitor', new IpaiSloMonitor()],
	['IPAI Agent Guard', new IpaiAgentGuard()],
];

function resolve(description: INodeTypeDescription, version: number, values: INodeParameters): INodeParameters {
	return NodeHelpers.getNodeParameters(description.properties, values, true, false, { typeVersion: version }, description)!;
}

/** Operation values shown in version 1's picker, and each version-2 resource's. */
function pickers(description: INodeTypeDescription) {
	const flat = description.properties.find((p) => p.name === 'operation' && p.displayOptions?.show?.['@version']?.[0] === 1)!;
	const resource = description.properties.find((p) => p.name === 'resource')!;
	return {
		operations: (flat.options as Array<{ value: string }>).map((o) => o.value),
		resources: (resource.options as Array<{ value: string }>).map((o) => o.value),
	};
}

describe.each(NODES)('%s: version 2 groups the operations of version 1 by resource', (_name, node) => {
	const description = node.description;
	const { operations, resources } = pickers(description);

	it('declares versions 1 and 2', () => {
		expect(description.version).toEqual([1, 2]);
	});

	it('every operation is under exactly one resource, and a new node opens on version 1’s default operation', () => {
		const owners = new Map<string, string[]>();
		for (const resource of resources) {
			const shown = resolve(description, 2, { resource });
			const picker = description.properties.find((p) => p.name === 'operation' && p.displayOptions?.show?.resource?.[0] === resource)!;
			for (const o of picker.options as Array<{ value: string }>) owners.set(o.value, [...(owners.get(o.value) ?? []), resource]);
			expect(operations).toContain(shown.operation);
		}
		expect([...owners.keys()].sort()).toEqual([...operations].sort());
		for (const [, owner] of owners) expect(owner).toHaveLength(1);
		expect(resolve(description, 2, {}).operation).toBe(resolve(description, 1, {}).operation);
	});

	it('each operation resolves the same parameters and defaults in both versions', () => {
		for (const operation of operations) {
			const resource = resources.find((r) => {
				const picker = description.properties.find((p) => p.name === 'operation' && p.displayOptions?.show?.resource?.[0] === r)!;
				return (picker.options as Array<{ value: string }>).some((o) => o.value === operation);
			})!;
			const v1 = resolve(description, 1, { operation });
			const { resource: chosen, ...v2 } = resolve(description, 2, { resource, operation });
			expect(chosen).toBe(resource);
			expect(v2).toEqual(v1);
		}
	});
});

it('refuses a grouping that leaves an operation out or names one twice', () => {
	const flat = { displayName: 'Operation', name: 'operation', type: 'options' as const, default: 'a', options: [{ name: 'A', value: 'a' }, { name: 'B', value: 'b' }] };
	expect(() => resourceOperations(flat, [{ name: 'X', value: 'x', description: '', operations: ['a'] }])).toThrow(/missing: b/);
	expect(() => resourceOperations(flat, [{ name: 'X', value: 'x', description: '', operations: ['a', 'b', 'c'] }])).toThrow(/unknown: c/);
	expect(() => resourceOperations(flat, [
		{ name: 'X', value: 'x', description: '', operations: ['a', 'b'] },
		{ name: 'Y', value: 'y', description: '', operations: ['b'] },
	])).toThrow(/each operation once/);
});
