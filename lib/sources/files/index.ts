/** File sources: CSV/TSV, JSON/NDJSON, Parquet, Arrow (any gzip'd) from streams, URLs and object storage. */
export * from './types';
export * from './bytes';
export * from './names';
export { readCsv, DEFAULT_SAMPLE_ROWS } from './csv';
export { sniffDialect } from './csvSniff';
export { readJson } from './json';
export { readParquet, type RangeReader } from './parquet';
export { readArrow } from './arrow';
export * from './ingest';
export * from './remote';
