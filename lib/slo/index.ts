/** The SLO monitor's public surface (no n8n imports anywhere below lib/). */
export * from '../lakehouse/cron';
export * from './evaluate';
export * from './mattermost';
export * from './mattermostPosts';
export * from './notify';
export * from './silences';
export * from './alertState';
export * from './alerts';
export * from './types';
export * from './windows';
export * from './definitions';
export * from './params';
