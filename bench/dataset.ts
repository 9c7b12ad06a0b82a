/**
 * A deterministic, realistic mixed-type data set for load benchmarks: journal items as an ERP
 * exports them — ids, move numbers, dates, account codes, partner names in several scripts,
 * monetary amounts, booleans, timestamps, tag arrays and a nested analytic object. Generated
 * page by page, never held whole.
 */
import type { Page } from '../lib/lakehouse/loader';
import { prng } from '../tooling/helpers/prng';

const PARTNERS = ['Agrolait', 'Camptocamp', 'Deco Addict', 'Gemini Furniture', 'Lumber Inc', 'Ready Mat', 'Wood Corner', 'Azure Interior',
	'Müller & Söhne GmbH', 'Café Olé', 'Østfold Bygg AS', '東京商事株式会社', 'Ωmega Trading', 'Łódź Logistics'];
const ACCOUNTS = ['101200', '101401', '110100', '121000', '211000', '251000', '400000', '600000', '620000', '700000'];
const LABELS = ['Office chairs', 'Consulting hours', 'Freight', 'Desk combination', 'Large cabinet', 'Storage box', 'Tax 15%', 'Rounding'];
const CURRENCIES = ['EUR', 'USD', 'EUR', 'EUR', 'GBP'];

const DAY_MS = 86_400_000;
const START = Date.UTC(2023, 0, 1);
// Precomputed: formatting a date per row would make the benchmark measure Date, not the loader.
const DAYS = Array.from({ length: 730 }, (_, d) => new Date(START + d * DAY_MS).toISOString().slice(0, 10));
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

export function* journalItems(total: number, pageSize: number, seed = 42): Generator<Page> {
	const random = prng(seed);
	for (let offset = 0; offset < total; offset += pageSize) {
		const records: Record<string, unknown>[] = [];
		for (let id = offset + 1; id <= Math.min(total, offset + pageSize); id++) {
			const day = Math.floor(random() * 730);
			const date = DAYS[day];
			const seconds = Math.floor(random() * 86_400);
			const amount = Math.round(random() * 1_000_000) / 100;
			const debit = random() < 0.5;
			records.push({
				id,
				move_name: `INV/${date.slice(0, 4)}/${String(Math.floor(id / 3) + 1).padStart(5, '0')}`,
				date,
				account_code: ACCOUNTS[Math.floor(random() * ACCOUNTS.length)],
				partner_name: PARTNERS[Math.floor(random() * PARTNERS.length)],
				label: LABELS[Math.floor(random() * LABELS.length)],
				debit: debit ? amount : 0,
				credit: debit ? 0 : amount,
				currency: CURRENCIES[Math.floor(random() * CURRENCIES.length)],
				reconciled: random() < 0.3,
				write_date: `${date}T${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}Z`,
				tax_ids: random() < 0.6 ? [1 + Math.floor(random() * 5)] : [],
				analytic_distribution: random() < 0.4 ? { [String(1 + Math.floor(random() * 20))]: 100 } : null,
			});
		}
		yield { records, cursor: offset + records.length };
	}
}
