import { splitSqlScript } from '../../lib/lakehouse/sqlScript';

describe('splitSqlScript', () => {
	it('splits on semicolons and reports the starting line of each statement', () => {
		const script = ['-- header', 'create table a (id int);', '', 'insert into a values (1);', 'select 1'].join('\n');
		expect(splitSqlScript(script)).toEqual([
			{ sql: 'create table a (id int)', line: 2 },
			{ sql: 'insert into a values (1)', line: 4 },
			{ sql: 'select 1', line: 5 },
		]);
	});

	it('ignores semicolons inside strings, identifiers, comments and dollar quotes', () => {
		const script = [
			"insert into t values ('a;b', 'it''s;');",
			'create table "we;ird" (id int);',
			'/* a ; comment /* nested ; */ still ; comment */ select 2;',
			"select E'esc\\';aped';",
			'do $body$ begin perform 1; perform 2; end $body$;',
			'create function f() returns int language sql as $$ select 1; $$;',
			'-- trailing ; comment only',
		].join('\n');
		const statements = splitSqlScript(script).map((s) => s.sql);
		expect(statements).toHaveLength(6);
		expect(statements[0]).toBe("insert into t values ('a;b', 'it''s;')");
		expect(statements[1]).toBe('create table "we;ird" (id int)');
		expect(statements[3]).toBe("select E'esc\\';aped'");
		expect(statements[4]).toBe('do $body$ begin perform 1; perform 2; end $body$');
		expect(statements[5]).toContain('$$ select 1; $$');
	});

	it('does not treat a positional parameter or a $ inside a name as a dollar quote', () => {
		expect(splitSqlScript('select $1; select a$b$ from t;').map((s) => s.sql)).toEqual(['select $1', 'select a$b$ from t']);
	});
});
