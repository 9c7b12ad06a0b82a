/**
 * Requests per record of a GitHub sync (issue 6), against the GitHub simulator over HTTP and a real
 * PostgreSQL: an initial sync of a seeded repository, an incremental sync after a few changes,
 * and a sync with nothing changed (mostly 304s, which GitHub does not count against the primary
 * limit). The floor (the limit) is one request per 100 records (per_page=100); the peer is a
 * full re-read of every stream on every sync, measured here with fresh cursors.
 *
 *   npx ts-node --transpile-only bench/githubRequests.ts
 */
import { Pool } from 'pg';
import { finishRun, startRun } from '../lib/lakehouse/runs';
import { GitHubClient } from '../lib/sources/github/client';
import { STREAMS } from '../lib/sources/github/streams';
import { syncGitHub } from '../lib/sources/github/sync';
import { GitHubSimulator } from '../tooling/simulators/github/server';
import { withScratchDatabase } from './common';

async function main(): Promise<void> {
	await withScratchDatabase((url) => measureRequests(url));
}

async function measureRequests(url: string): Promise<void> {
	const pool = new Pool({ connectionString: url });
	pool.on('error', () => undefined); // the scratch database is dropped with force at the end
	const sim = new GitHubSimulator();
	await sim.start();
	try {
		const repo = 'bench/big';
		sim.addRepo(repo);
		sim.addWorkflow(repo);
		for (let i = 0; i < 1500; i++) sim.addIssue(repo);
		for (let i = 0; i < 600; i++) sim.addPull(repo);
		for (let i = 0; i < 800; i++) sim.addCommit(repo);
		for (let i = 0; i < 700; i++) sim.addRun(repo);
		for (let i = 0; i < 50; i++) sim.addRelease(repo, `v${i}`);
		const sync = async (name: string, deleteScanHours?: number) => {
			const client = new GitHubClient({ auth: { type: 'token', token: 'ghp_simulated_token' }, baseUrl: sim.url });
			const run = await startRun(pool, { connector: { connectorType: 'github', name } });
			if (run.status !== 'running') throw new Error('no run');
			const streams = STREAMS.filter((s) => s !== 'pull_request_reviews' && s !== 'workflow_jobs' && s !== 'deployment_statuses');
			const result = await syncGitHub(pool, client, { connectorId: run.connectorId, runId: run.runId, selection: { mode: 'list', repositories: [repo] }, streams, deleteScanHours });
			await finishRun(pool, run.runId);
			return result;
		};
		const initial = await sync('bench');
		for (let i = 1; i <= 20; i++) sim.updateIssue(repo, i * 7, { title: `edited ${i}` });
		for (let i = 0; i < 10; i++) sim.addRun(repo);
		const incremental = await sync('bench');
		const unchanged = await sync('bench');
		const scan = await sync('bench', 0); // unchanged, plus the delete scan (due every 24 h by default)
		const peer = await sync('bench-full-reread'); // a new connector: no cursors, reads everything
		const line = (label: string, r: Awaited<ReturnType<typeof sync>>) =>
			`${label}: ${r.requests} requests (${r.notModified} × 304) for ${r.rowsRead} records read → ${r.rowsRead ? (r.requests / r.rowsRead).toFixed(4) : 'n/a'} requests/record`;
		console.log(line('initial', initial));
		console.log(line('incremental', incremental));
		console.log(line('unchanged', unchanged));
		console.log(line('unchanged + delete scan', scan));
		console.log(line('peer (full re-read)', peer));
		console.log(`incremental vs peer: ${(incremental.requests / peer.requests).toFixed(3)}× the requests; limit (per_page=100): 0.0100 requests/record`);
		console.log(
			`github initial_requests_per_record=${(initial.requests / initial.rowsRead).toFixed(4)} unchanged_counted_requests=${unchanged.requests - unchanged.notModified} ` +
				`delete_scan_counted_requests=${scan.requests - scan.notModified - (unchanged.requests - unchanged.notModified)} (limit: ${Math.ceil(2100 / 100)} for 2,100 issues and PRs at 100 per page)`,
		);
	} finally {
		await sim.stop();
		await pool.end();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
