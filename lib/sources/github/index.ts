/** The GitHub source: client, streams, sync into bronze, webhook deliveries. No n8n imports. */
export * from './auth';
export * from './client';
export * from './readers';
export * from './streams';
export * from './sync';
export * from './webhooks';
