/** The lakehouse engine's public surface (no n8n imports anywhere below lib/). */
export * from './audit';
export * from './columnTypes';
export * from './connection';
export * from './loader';
export * from './copyLoad';
export * from './inferredDeletes';
export * from './migrate';
export * from './runs';
export * from './runQueries';
export * from './securityLint';
export * from './sql';
export * from './streamState';
export * from './tables';
export * from './refresh';
export * from './dispatch';
export * from './delivery';
