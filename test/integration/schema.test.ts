/** schema.sql is what the migrations produce today (regenerate with `npm run schema:dump`). */
import { readFileSync } from 'node:fs';
import { migratedSchema, SCHEMA_FILE } from '../../tooling/helpers/schema';

jest.setTimeout(180_000);

it('schema.sql matches a freshly migrated database', async () => {
	const current = await migratedSchema();
	const checkedIn = readFileSync(SCHEMA_FILE, 'utf8');
	if (current !== checkedIn) {
		const a = checkedIn.split('\n');
		const b = current.split('\n');
		const line = a.findIndex((text, i) => text !== b[i]);
		throw new Error(`schema.sql is stale from line ${line + 1} ("${a[line]}" vs "${b[line]}"): run npm run schema:dump and commit it`);
	}
});
