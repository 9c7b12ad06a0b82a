/**
 * Odoo's failures, as a person must act on them. Every protocol reports the same Odoo exception
 * differently (XML-RPC faultCode 1–4 with a traceback, JSON-RPC error.data.name, JSON-2 HTTP
 * status + {name, message}); the transports map them all to one OdooError.
 */
export type OdooErrorKind =
	| 'unreachable' // network: refused, reset, timed out — retried
	| 'server' // HTTP 5xx / 429 from Odoo or a proxy — retried
	| 'auth' // wrong login, password or API key, or unknown database
	| 'access' // the user lacks rights on a model
	| 'invalid' // unknown model or field, bad domain
	| 'user' // a UserError / ValidationError raised by Odoo's business logic
	| 'odoo' // any other exception inside Odoo (a traceback)
	| 'protocol'; // an answer that is not Odoo's

export class OdooError extends Error {
	constructor(
		readonly kind: OdooErrorKind,
		message: string,
		readonly details: { model?: string; method?: string; status?: number; odooName?: string } = {},
	) {
		super(message);
		this.name = 'OdooError';
	}

	get transient(): boolean {
		return this.kind === 'unreachable' || this.kind === 'server';
	}
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function isNetworkError(error: unknown): boolean {
	const code = (error as { code?: string } | null)?.code;
	return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** The line a person needs from a Python traceback: its last non-empty line. */
export function lastLine(text: string): string {
	const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
	return lines[lines.length - 1] ?? text;
}

/**
 * What Odoo said, on one line: the last line of a traceback (XML-RPC fault 1), or the whole
 * message of an exception Odoo raised for the user (AccessError, UserError: several paragraphs
 * whose first says what was refused and whose last only says to contact an administrator).
 */
export function oneLine(text: string): string {
	if (/^Traceback \(most recent call last\)/m.test(text)) return lastLine(text);
	const joined = text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
	return joined.length > 500 ? `${joined.slice(0, 500)}…` : joined;
}

/**
 * An Odoo exception (by its Python class name and message) as an OdooError with an actionable
 * message. `where` names the call for the message ("account.move.search_read").
 */
export function fromOdooException(
	name: string,
	message: string,
	context: { model?: string; method?: string; database?: string; version?: string },
): OdooError {
	const cls = name.split('.').pop() ?? name;
	const where = context.model ? `${context.model}${context.method ? `.${context.method}` : ''}` : context.method ?? 'the call';
	const version = context.version ? `Odoo ${context.version}` : 'this Odoo';
	const detail = oneLine(message);
	switch (cls) {
		case 'AccessDenied':
			return new OdooError(
				'auth',
				`Odoo refused the credentials (Access Denied) for database "${context.database ?? '?'}": check the login and password or API key in the IPAI Odoo API credential`,
				{ ...context, odooName: name },
			);
		case 'AccessError':
			return new OdooError(
				'access',
				`The Odoo user may not read ${context.model ?? 'this model'}: grant it read access in Odoo, or leave the model out (${detail})`,
				{ ...context, odooName: name },
			);
		case 'UserError':
		case 'ValidationError':
		case 'MissingError':
		case 'RedirectWarning':
			return new OdooError('user', `Odoo refused ${where}: ${detail}`, { ...context, odooName: name });
		default: {
			// "Invalid field 'x' on model 'y'" (fields, order) or "Invalid field y.x in leaf (…)" (domains, 17+).
			const field = /Invalid field '([^']+)' on model '([^']+)'/.exec(message);
			const leaf = /Invalid field ([\w.]+)\.(\w+) in leaf/.exec(message);
			if (field || leaf) {
				const [fieldName, modelName] = field ? [field[1], field[2]] : [leaf![2], leaf![1]];
				return new OdooError('invalid', `${version} has no field "${fieldName}" on model ${modelName}: remove it from the field list or domain`, {
					...context,
					odooName: name,
				});
			}
			const model = /KeyError: '([^']+)'|Object ([\w.]+) doesn't exist|model '([^']+)' (?:does not exist|not found)/i.exec(message);
			if (model || cls === 'KeyError') {
				const missing = model?.[1] ?? model?.[2] ?? model?.[3] ?? context.model;
				return new OdooError('invalid', `${version} has no model "${missing}" (is its module installed?)`, { ...context, odooName: name });
			}
			if (/OperationalError/.test(name) && /does not exist/.test(message)) {
				return new OdooError('auth', `Odoo has no database "${context.database ?? '?'}": check the database name in the IPAI Odoo API credential`, {
					...context,
					odooName: name,
				});
			}
			if (cls === 'ValueError' || cls === 'TypeError' || cls === 'AttributeError') {
				return new OdooError('invalid', `${version} rejected ${where}: ${detail}`, { ...context, odooName: name });
			}
			return new OdooError('odoo', `Odoo failed in ${where}: ${detail}`, { ...context, odooName: name });
		}
	}
}
