export * from './client';
export * from './errors';
export * from './fields';
export * from './presets';
export * from './sync';
export type { OdooCredentials, Protocol, VersionInfo } from './transport';
export * from './read';
