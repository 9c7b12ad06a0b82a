-- Per-load values of the bronze metadata columns, for COPY paths that do not send them per row.
--
-- The file ingest streams a CSV file's own bytes into COPY … (FORMAT csv); sending the connector
-- id, run id and extraction time on every row as text costs PostgreSQL about 75% more CPU than the
-- data alone (measured: 1M rows x 14 columns), because each is parsed again on every row, and
-- appending them means rewriting every row in JavaScript. Instead, those columns (and _ipai_raw,
-- `{}` for most CSV rows: see the README, File Ingest) get DEFAULTs that read transaction-local
-- settings the loader sets before the COPY (set_config('ipai.load_connector_id', …, true), …), so
-- every row takes the value at the cost of a constant.
--
-- The functions are declared IMMUTABLE although they read a setting: that is what lets the planner
-- fold the DEFAULT to a constant once, when the COPY starts (the settings are already in place),
-- rather than call the function for each row (a STABLE function costs ~0.3 µs a row, three of them
-- ~1 s per million rows). They are only meant for these DEFAULTs; never use them in an index, a
-- generated column or a view. Unset (any other insert), they return NULL, so the NOT NULL metadata
-- columns still refuse a row that does not say where it came from — exactly as without a default.
create or replace function ipai_meta.load_setting_uuid(setting text) returns uuid
  language sql immutable parallel safe
  set search_path = ''
as $$ select nullif(pg_catalog.current_setting(setting, true), '')::uuid $$;

create or replace function ipai_meta.load_setting_timestamptz(setting text) returns timestamptz
  language sql immutable parallel safe
  set search_path = ''
as $$ select nullif(pg_catalog.current_setting(setting, true), '')::timestamptz $$;

create or replace function ipai_meta.load_setting_jsonb(setting text) returns jsonb
  language sql immutable parallel safe
  set search_path = ''
as $$ select nullif(pg_catalog.current_setting(setting, true), '')::jsonb $$;

revoke all on function ipai_meta.load_setting_uuid(text), ipai_meta.load_setting_timestamptz(text), ipai_meta.load_setting_jsonb(text) from public;
grant execute on function ipai_meta.load_setting_uuid(text), ipai_meta.load_setting_timestamptz(text), ipai_meta.load_setting_jsonb(text)
  to ipai_ingest, service_role;

comment on function ipai_meta.load_setting_uuid(text) is
  'DEFAULT of bronze _ipai_connector_id/_ipai_run_id for COPY loads: the transaction-local setting, folded once per statement.';
comment on function ipai_meta.load_setting_timestamptz(text) is
  'DEFAULT of bronze _ipai_extracted_at for COPY loads: the transaction-local setting, folded once per statement.';
comment on function ipai_meta.load_setting_jsonb(text) is
  'DEFAULT of bronze _ipai_raw for COPY loads: the transaction-local setting, folded once per statement.';
