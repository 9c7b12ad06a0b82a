/** Shared plumbing for benchmarks: scratch databases, child-process runs with peak RSS, output. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
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
