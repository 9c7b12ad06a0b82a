/**
 * Self-check of the real-n8n harness (not a jest test; it takes a minute or two):
 *
 *   npx ts-node --transpile-only test/e2e/n8nRuntime.selfcheck.ts
 *
 * Builds a throw-away community package in a temp dir, installs it into a fresh instance, checks
 * that n8n lists its node, runs a Manual Trigger → dummy workflow with `n8n execute`, then starts
 * the server (regular mode: owner + API key + public API), and queue mode with 2 workers (webhook
 * executions must run in the worker processes). Finally checks no n8n process of ours survives.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ensureN8nInstalled, N8nInstance, nodeOutput } from './n8nRuntime';

const PKG = 'n8n-nodes-ipai-harness-dummy';
const NODE_TYPE = `${PKG}.harnessEcho`;

function check(condition: unknown, message: string): asserts condition {
	if (!condition) throw new Error(`CHECK FAILED: ${message}`);
	process.stdout.write(`ok - ${message}\n`);
}

/** A minimal community package: compiled JS node requiring n8n-workflow, one runtime dependency. */
function buildDummyPackage(dir: string): string {
	const nodeDir = path.join(dir, 'pkg', 'dist', 'nodes', 'HarnessEcho');
	fs.mkdirSync(nodeDir, { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'pkg', 'package.json'),
		JSON.stringify(
			{
				name: PKG,
				version: '0.0.1',
				keywords: ['n8n-community-node-package'],
				license: 'MIT',
				files: ['dist'],
				n8n: { n8nNodesApiVersion: 1, credentials: [], nodes: ['dist/nodes/HarnessEcho/HarnessEcho.node.js'] },
				peerDependencies: { 'n8n-workflow': '*' },
				// A production dependency, to prove the package's dependencies get installed.
				dependencies: { ms: '^2.1.3' },
			},
			null,
			2,
		),
	);
	fs.writeFileSync(
		path.join(nodeDir, 'HarnessEcho.node.js'),
		`"use strict";
const { NodeConnectionTypes, NodeOperationError } = require('n8n-workflow');
const ms = require('ms');
class HarnessEcho {
  constructor() {
    this.description = {
      displayName: 'Harness Echo', name: 'harnessEcho', group: ['transform'], version: 1,
      description: 'Echoes a message', defaults: { name: 'Harness Echo' },
      inputs: [NodeConnectionTypes.Main], outputs: [NodeConnectionTypes.Main],
      properties: [{ displayName: 'Message', name: 'message', type: 'string', default: 'hi' }],
    };
  }
  async execute() {
    const items = this.getInputData();
    if (typeof NodeOperationError !== 'function') throw new Error('n8n-workflow not resolved');
    return [items.map((item, i) => ({
      json: { message: this.getNodeParameter('message', i), pid: process.pid, oneMinuteMs: ms('1m') },
      pairedItem: { item: i },
    }))];
  }
}
exports.HarnessEcho = HarnessEcho;
`,
	);
	const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
	const packed = spawnSync('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], {
		cwd: path.join(dir, 'pkg'),
		env,
		encoding: 'utf8',
	});
	if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
	return path.join(dir, packed.stdout.trim().split('\n').pop()!);
}

const manualWorkflow = {
	id: 'harnessManual01',
	name: 'harness manual',
	active: false,
	nodes: [
		{ id: 'n1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		{
			id: 'n2',
			name: 'Echo',
			type: NODE_TYPE,
			typeVersion: 1,
			position: [220, 0],
			// An expression, so the (isolated-vm) expression engine is exercised too.
			parameters: { message: "={{ 'hello ' + 'world' }}" },
		},
	],
	connections: { Start: { main: [[{ node: 'Echo', type: 'main', index: 0 }]] } },
	settings: {},
};

function webhookWorkflow(webhookPath: string) {
	return {
		name: 'harness webhook',
		nodes: [
			{
				id: 'w1',
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: 'a7f3c2e1-5b4d-4c6e-9f80-1d2e3f4a5b6c',
				parameters: { httpMethod: 'POST', path: webhookPath, responseMode: 'lastNode', options: {} },
			},
			{ id: 'w2', name: 'Echo', type: NODE_TYPE, typeVersion: 1, position: [220, 0], parameters: { message: 'queued' } },
		],
		connections: { Webhook: { main: [[{ node: 'Echo', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

function processGroupMembers(pgid: number): string {
	const r = spawnSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
	return r.stdout.trim();
}

async function main(): Promise<void> {
	let t = Date.now();
	const runtime = await ensureN8nInstalled();
	console.log(`runtime: ${runtime.home} (ensureN8nInstalled ${Date.now() - t} ms)`);

	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-selfcheck-'));
	const tarball = buildDummyPackage(tmp);
	const n8n = await N8nInstance.create();
	const pgids: number[] = [];
	try {
		t = Date.now();
		const installed = await n8n.installPackage(tarball);
		console.log(`installPackage: ${Date.now() - t} ms → ${installed.dir}`);
		check(fs.existsSync(path.join(n8n.nodesDir, 'node_modules', 'ms')), 'production dependency installed');
		check(!fs.existsSync(path.join(n8n.nodesDir, 'node_modules', 'n8n-workflow')), 'peer n8n-workflow not installed');

		t = Date.now();
		const types = await n8n.listNodeTypes();
		console.log(`listNodeTypes: ${Date.now() - t} ms, ${types.length} types`);
		check(types.includes(NODE_TYPE), `listNodeTypes includes ${NODE_TYPE}`);
		check(types.includes('n8n-nodes-base.manualTrigger'), 'listNodeTypes includes n8n-nodes-base.manualTrigger');

		t = Date.now();
		await n8n.importWorkflow(manualWorkflow);
		console.log(`import:workflow: ${Date.now() - t} ms`);
		for (let i = 0; i < 2; i++) {
			t = Date.now();
			const run = await n8n.executeWorkflow(manualWorkflow.id);
			console.log(`execute --id (run ${i + 1}): ${Date.now() - t} ms`);
			const out = nodeOutput(run, 'Echo');
			check(out.length === 1 && out[0].message === 'hello world' && out[0].oneMinuteMs === 60000, 'execute output of the dummy node');
		}

		// --- server, regular mode
		t = Date.now();
		await n8n.start();
		console.log(`start (regular): ready in ${Date.now() - t} ms on ${n8n.baseUrl}`);
		pgids.push(...currentPgids(n8n));
		const owner = await n8n.setupOwner();
		const serverTypes = await n8n.listNodeTypesFromServer();
		check(serverTypes.includes(NODE_TYPE) && serverTypes.length === types.length, `server /types/nodes.json lists ${NODE_TYPE} (${serverTypes.length} types)`);
		const apiKey = await n8n.createApiKey();
		check(apiKey.length > 20, 'API key created');
		const list = (await n8n.publicApi(apiKey, 'GET', '/workflows')) as { data: Array<{ id: string }> };
		check(list.data.some((w) => w.id === manualWorkflow.id), 'public API lists the imported workflow');
		t = Date.now();
		await n8n.stop();
		console.log(`stop: ${Date.now() - t} ms`);
		for (const pgid of pgids) check(processGroupMembers(pgid) === '', `process group ${pgid} gone after stop()`);

		// --- server, queue mode with 2 workers (same DB: the owner and workflows persist)
		t = Date.now();
		await n8n.start({ workers: 2, workerConcurrency: 2 });
		console.log(`start (queue, 2 workers): ready in ${Date.now() - t} ms`);
		const queuePgids = currentPgids(n8n);
		pgids.push(...queuePgids);
		await n8n.login(owner.email, owner.password);
		const created = (await n8n.publicApi(apiKey, 'POST', '/workflows', webhookWorkflow('harness-queue'))) as { id: string };
		await n8n.publicApi(apiKey, 'POST', `/workflows/${created.id}/activate`);
		await n8n.waitForWebhook('harness-queue');
		const pids = new Set<number>();
		t = Date.now();
		const responses = await Promise.all(
			Array.from({ length: 8 }, async () => {
				const res = await fetch(`${n8n.baseUrl}/webhook/harness-queue`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
				return (await res.json()) as { message: string; pid: number };
			}),
		);
		console.log(`8 webhook executions through the queue: ${Date.now() - t} ms`);
		for (const r of responses) pids.add(r.pid);
		const mainPid = queuePgids[0];
		check(responses.every((r) => r.message === 'queued'), 'webhook responses come from the dummy node');
		check(!pids.has(mainPid), `executions ran outside the main process (pids ${[...pids].join(', ')}; main ${mainPid})`);
		check([...pids].every((pid) => queuePgids.slice(1).includes(pid)), 'executions ran in the worker processes');
		const executions = (await n8n.publicApi(apiKey, 'GET', `/executions?workflowId=${created.id}`)) as { data: unknown[] };
		check(executions.data.length === 8, '8 executions recorded');
		await n8n.stop();
		for (const pgid of queuePgids) check(processGroupMembers(pgid) === '', `process group ${pgid} gone after stop()`);
	} catch (error) {
		console.error(n8n.logTail('main'));
		throw error;
	} finally {
		await n8n.dispose();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	check(!fs.existsSync(n8n.userFolder), 'user folder removed');
	const db = spawnSync('psql', ['postgres://postgres@127.0.0.1:5432/postgres', '-tAc', `SELECT count(*) FROM pg_database WHERE datname = 'n8n_e2e_${n8n.instanceId}'`], { encoding: 'utf8' });
	check(db.stdout.trim() === '0', 'scratch database dropped');
	const keys = spawnSync('redis-cli', ['--scan', '--pattern', `*_e2e_${n8n.instanceId}:*`], { encoding: 'utf8' });
	check(keys.status === 0 && keys.stdout.trim() === '', 'queue-mode Redis keys deleted');
	// Anything still running from the n8n install (other sessions using the same install would
	// show up here too, hence printed, not checked; our own groups were checked above).
	const leftovers = spawnSync('pgrep', ['-af', runtime.home], { encoding: 'utf8' }).stdout.trim();
	console.log(`processes running from ${runtime.home} after dispose: ${leftovers === '' ? '(none)' : `\n${leftovers}`}`);
}

/** Process-group ids of the running servers: main first, then workers (each leads its group). */
function currentPgids(n8n: N8nInstance): number[] {
	return n8n.processes.map((p) => p.pid);
}

main().then(
	() => console.log('SELF-CHECK PASSED'),
	(error) => {
		console.error(error);
		process.exitCode = 1;
	},
);
