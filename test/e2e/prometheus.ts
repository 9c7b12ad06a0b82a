/**
 * A real Prometheus (Debian package `prometheus`, the binary `.ci/run` installs) for end-to-end
 * tests: started on a free port with a temporary config and TSDB, queried through its HTTP API
 * (GET /api/v1/query, https://prometheus.io/docs/prometheus/latest/querying/api/), stopped by pid.
 * No jest imports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFreePort } from '../../tooling/n8n/n8nRuntime';

export interface ScrapeTarget {
	job: string;
	/** host:port */
	target: string;
	metricsPath: string;
	bearerToken?: string;
}

export interface PromSample {
	metric: Record<string, string>;
	/** [unix seconds, value as text] */
	value: [number, string];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PrometheusServer {
	private constructor(
		readonly url: string,
		private readonly child: ChildProcess,
		private readonly dir: string,
	) {}

	static async start(targets: ScrapeTarget[], options: { scrapeIntervalSeconds?: number; binary?: string } = {}): Promise<PrometheusServer> {
		const interval = options.scrapeIntervalSeconds ?? 1;
		const port = await getFreePort();
		const dir = mkdtempSync(join(tmpdir(), 'ipai-prom-'));
		// JSON is YAML: the config is written without a YAML library.
		const config = {
			global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: `${interval}s` },
			scrape_configs: targets.map((t) => ({
				job_name: t.job,
				metrics_path: t.metricsPath,
				...(t.bearerToken ? { authorization: { type: 'Bearer', credentials: t.bearerToken } } : {}),
				static_configs: [{ targets: [t.target] }],
			})),
		};
		writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
		const log = openSync(join(dir, 'prometheus.log'), 'a');
		const child = spawn(
			options.binary ?? 'prometheus',
			[
				`--config.file=${join(dir, 'prometheus.yml')}`,
				`--storage.tsdb.path=${join(dir, 'data')}`,
				`--web.listen-address=127.0.0.1:${port}`,
				'--storage.tsdb.retention.time=1d',
				'--log.level=warn',
			],
			{ stdio: ['ignore', log, log] },
		);
		closeSync(log);
		const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, dir);
		const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`prometheus did not start (Debian package "prometheus"): ${e.message}`))));
		await Promise.race([spawnError, server.waitReady(60_000)]);
		return server;
	}

	private async waitReady(timeoutMs: number): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			try {
				const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
				await res.arrayBuffer();
				if (res.ok) return;
			} catch {
				// not listening yet
			}
			if (this.child.exitCode !== null) throw new Error(`prometheus exited during startup:\n${this.log()}`);
			if (Date.now() > deadline) throw new Error(`prometheus not ready after ${timeoutMs} ms:\n${this.log()}`);
			await sleep(200);
		}
	}

	log(): string {
		try {
			return readFileSync(join(this.dir, 'prometheus.log'), 'utf8').split('\n').slice(-30).join('\n');
		} catch {
			return '(no log)';
		}
	}

	/** An instant query (PromQL) at `time` (unix seconds; default: now). */
	async query(promql: string, time?: number): Promise<PromSample[]> {
		const params = new URLSearchParams({ query: promql });
		if (time !== undefined) params.set('time', String(time));
		const res = await fetch(`${this.url}/api/v1/query?${params}`);
		const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] | [number, string] } };
		if (body.status !== 'success') throw new Error(`PromQL ${promql} failed: ${body.error}`);
		if (body.data!.resultType === 'scalar') return [{ metric: {}, value: body.data!.result as [number, string] }];
		return body.data!.result as PromSample[];
	}

	/** The single value of a query that must return one series (NaN when it returns none). */
	async value(promql: string, time?: number): Promise<number> {
		const result = await this.query(promql, time);
		if (result.length > 1) throw new Error(`PromQL ${promql} returned ${result.length} series, expected one`);
		return result.length ? Number(result[0].value[1]) : NaN;
	}

	/** Polls a condition until it holds (no sleeps as synchronisation: the condition is the signal). */
	async waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
		const deadline = Date.now() + timeoutMs;
		let last: unknown;
		for (;;) {
			try {
				const value = await check();
				if (value) return value;
			} catch (error) {
				last = error;
			}
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}\n${this.log()}`);
			await sleep(250);
		}
	}

	async stop(): Promise<void> {
		if (this.child.exitCode === null && this.child.signalCode === null) {
			const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
			this.child.kill('SIGTERM');
			await Promise.race([exited, sleep(10_000)]);
			if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
		}
		rmSync(this.dir, { recursive: true, force: true });
	}
}
