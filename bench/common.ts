/** Shared plumbing for benchmarks: scratch databases, child-process runs with peak RSS, output. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrate } from '../lib/lakehouse/migrate';

/** The repository's migrations, whether this runs from bench/ or compiled from .bench-build/bench/. */
function migrationsDirectory(): string {
	for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
		if (existsSync(join(dir, 'migrations', 'bootstrap'))) return join(dir, 'migrations');
	}
	throw new Error('migrations/ not found above the benchmark');
}

export function serverUrl(): string {
	return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export async function withScratchDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
	const name = `ipai_bench_${randomBytes(4).toString('hex')}`;
	const admin = new Client({ connectionString: serverUrl() });
	await admin.connect();
	await admin.query(`create database "${name}"`);
	const url = new URL(serverUrl());
	url.pathname = `/${name}`;
	try {
		await migrate({ connection: { connectionString: url.toString() }, directory: migrationsDirectory() });
		return await fn(url.toString());
	} finally {
		await admin.query(`drop database if exists "${name}" with (force)`);
		await admin.end();
	}
}

export interface Measured {
	seconds: number;
	peakRssMib: number;
	stdout: string;
}

/** Runs a command under /usr/bin/time to get its wall time and peak resident memory. */
export function measure(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Measured {
	const started = process.hrtime.bigint();
	const result = spawnSync('/usr/bin/time', ['-f', 'IPAI_PEAK_KB=%M', command, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
	const peak = /IPAI_PEAK_KB=(\d+)/.exec(result.stderr);
	return { seconds, peakRssMib: peak ? Number(peak[1]) / 1024 : NaN, stdout: result.stdout };
}

/** Seconds a child reported for its own timed section (excludes interpreter start-up). */
export function reportedSeconds(stdout: string): number {
	const match = /IPAI_SECONDS=([\d.]+)/.exec(stdout);
	if (!match) throw new Error(`child did not report its time:\n${stdout}`);
	return Number(match[1]);
}

/** MiB (what /proc and time(1) count in, KiB / 1024) in MB (10^6 bytes, what the goals are written in). */
export const mibToMb = (mib: number): number => mib * 1.048576;

export function row(label: string, rows: number, seconds: number, peakRssMib: number): string {
	return `${label.padEnd(34)} ${String(rows).padStart(9)} rows  ${seconds.toFixed(2).padStart(7)} s  ${Math.round(rows / seconds)
		.toLocaleString('en-US')
		.padStart(10)} rows/s  peak RSS ${peakRssMib.toFixed(0).padStart(5)} MiB`;
}

export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
	const started = process.hrtime.bigint();
	const value = await fn();
	return [Number(process.hrtime.bigint() - started) / 1e6, value];
}

/** A ledger like a busy deployment's: `rows` connector runs over `connectors`, and agent runs. */
export async function seedLedger(pool: Pool, rows: number, connectors: number, agents: number, agentRows: number, now: Date): Promise<void> {
	// Schedules from every minute to every 15 minutes; each connector gets a share of the rows in
	// proportion to its frequency, so the history spans about four weeks for every one of them.
	const intervals = [1, 2, 2, 3, 5, 5, 10, 15];
	const weights = Array.from({ length: connectors }, (_, i) => 1 / intervals[i % intervals.length]);
	const total = weights.reduce((a, b) => a + b, 0);
	await pool.query(`select setseed(0.42)`);
	for (let i = 0; i < connectors; i++) {
		const every = intervals[i % intervals.length];
		const count = Math.round((rows * weights[i]) / total);
		const { rows: created } = await pool.query<{ id: string }>(
			`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at)
			 values ($1, $2, $5, $3, $4::timestamptz - interval '60 days') returning id`,
			// Configs their type's pipeline can run: the database refuses a scheduled row without one.
			[['odoo', 'github', 'file', 'db'][i % 4], `bench-${i}`, every === 1 ? '* * * * *' : `*/${every} * * * *`, now, [{}, { repositories: ['acme/app'] }, { table: 'landing' }, { engine: 'postgres', tables: [{ table: 'public.orders', mode: 'full' }] }][i % 4]],
		);
		// The last ~90 minutes of every 10th connector fail (an incident in progress); elsewhere 0.3%
		// fail, 0.1% are abandoned, 0.1% are skipped (busy), and the newest run is still running.
		await pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message, metadata)
			 select $1, s.started,
			        case when s.st = 'running' then null else s.started + make_interval(secs => 5 + random() * 40) end,
			        s.st, (random() * 1000)::int, (random() * 1000)::int,
			        case when s.st in ('failed', 'abandoned') then 'Odoo answered 503 Service Unavailable' end,
			        jsonb_build_object('n8n_execution_id', s.n::text, 'n8n_workflow_id', 'wf' || $4::text)
			   from (select n, $2::timestamptz - make_interval(mins => n * $3) as started,
			                case when n = 0 then 'running'
			                     when $4 % 10 = 0 and n * $3 < 90 then 'failed'
			                     else (array['success', 'failed', 'abandoned', 'skipped'])[
			                            case when r < 0.995 then 1 when r < 0.998 then 2 when r < 0.999 then 3 else 4 end]
			                end as st
			           from (select n, random() as r from generate_series(0, $5 - 1) as n) g) s`,
			[created[0].id, now, every, i, count],
		);
	}
	for (let a = 0; a < agents; a++) {
		const { rows: agent } = await pool.query<{ id: string }>(
			`insert into public.ipai_agent (code_name, display_name, agent_type) values ($1, $1, 'claude') returning id`,
			[`bench-agent-${a}`],
		);
		const count = Math.round(agentRows / agents);
		await pool.query(
			`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms, tokens_used, cost_usd)
			 select $1, t, t + make_interval(secs => l / 1000.0), case when random() < 0.01 then 'failed' else 'success' end, l,
			        (500 + random() * 4000)::int, round((random() * 0.05)::numeric, 6)
			   from (select $2::timestamptz - make_interval(secs => n * 2419200.0 / $3) as t,
			                (200 + random() * random() * 9000)::int as l
			           from generate_series(1, $3) as n) g`,
			[agent[0].id, now, count],
		);
	}
	await pool.query('vacuum analyze public.ipai_connector_run');
	await pool.query('vacuum analyze public.ipai_agent_run');
}
