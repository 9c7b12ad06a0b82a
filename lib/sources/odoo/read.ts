/** Reading from Odoo: a model's fields, bounded record reads for "Emit records", and requests fetched ahead in order. */
import type { OdooClient } from './client';
import { OdooError } from './errors';
import { mapRecord, planFields, type FieldSelection, type FieldsGet } from './fields';
import { presetOf } from './presets';

export type Domain = unknown[];

/** Records of a model, mapped, for "Emit records" (bounded: n8n holds every item in memory). */
export async function readRecords(
	odoo: OdooClient,
	options: FieldSelection & { model: string; domain?: Domain; limit: number; lang?: string; mapped?: boolean },
): Promise<Array<Record<string, unknown>>> {
	const fieldsGet = await fieldsOf(odoo, options.model);
	const plans = planFields(fieldsGet, { ...options, extraFields: options.extraFields ?? presetOf(options.model)?.extraFields });
	const records = await odoo.call<Array<Record<string, unknown>>>(options.model, 'search_read', {
		domain: options.domain ?? [],
		fields: plans.map((p) => p.field),
		order: 'id asc',
		limit: options.limit,
		context: { active_test: false, lang: options.lang ?? 'en_US' },
	});
	return options.mapped === false ? records : records.map((r) => mapRecord(r, plans));
}

/**
 * A model's fields, or an error that says the model is unknown. Odoo's answer for a model the
 * registry lacks depends on the version and the path (a KeyError fault, or fields_get answering
 * with no fields at all); either way the model does not exist or this user cannot see it.
 */
export async function fieldsOf(odoo: OdooClient, model: string): Promise<FieldsGet> {
	const unknown = () =>
		new OdooError(
			'invalid',
			`Odoo model "${model}" does not exist, or user "${odoo.login}" cannot see it: check the model's technical name (e.g. res.partner), that its module is installed, and the user's access rights`,
			{ model, method: 'fields_get' },
		);
	let fieldsGet: FieldsGet;
	try {
		fieldsGet = await odoo.call<FieldsGet>(model, 'fields_get', { attributes: ['type', 'string', 'store', 'relation'] });
	} catch (error) {
		// XML-RPC/JSON-RPC: "Object x doesn't exist" (a UserError) or a KeyError; JSON-2: HTTP 404.
		if (error instanceof OdooError && /doesn't exist|does not exist|has no model|KeyError|fields_get \(HTTP 404\)/i.test(error.message)) throw unknown();
		throw error;
	}
	if (!fieldsGet || typeof fieldsGet !== 'object' || Array.isArray(fieldsGet) || Object.keys(fieldsGet).length === 0) throw unknown();
	return fieldsGet;
}


/**
 * fetch(input) for each input, up to `ahead` at a time, yielded in input order. A request that
 * fails while waiting its turn is reported when its turn comes (never as an unhandled rejection).
 */
export async function* inOrder<I, O>(inputs: Iterable<I>, ahead: number, fetch: (input: I) => Promise<O>): AsyncGenerator<{ input: I; output: O }> {
	const source = inputs[Symbol.iterator]();
	const queue: Array<{ input: I; output: Promise<O> }> = [];
	const fill = () => {
		while (queue.length < ahead) {
			const next = source.next();
			if (next.done) return;
			const output = fetch(next.value);
			output.catch(() => undefined);
			queue.push({ input: next.value, output });
		}
	};
	fill();
	while (queue.length > 0) {
		const head = queue.shift()!;
		const output = await head.output;
		fill();
		yield { input: head.input, output };
	}
}

