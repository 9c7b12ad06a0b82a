/**
 * The Odoo simulator in a process of its own for benchmarks (so it does not share a CPU with the
 * client being measured). Prints {"url": …, "lines": …} once ready; stops on SIGTERM.
 * Usage: node odooServer.js <extra journal items>
 */
import { OdooSimulator, seedDemoCompany } from '../tooling/simulators/odoo';

async function main(): Promise<void> {
	const scale = Number(process.argv[2] ?? 100_000);
	const sim = new OdooSimulator({ version: '17.0' });
	seedDemoCompany(sim, { scale });
	const server = await sim.start();
	process.stdout.write(`${JSON.stringify({ url: server.url, lines: sim.count('account.move.line') })}\n`);
	process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

void main();
