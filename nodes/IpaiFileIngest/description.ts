import type { INodeProperties } from 'n8n-workflow';
import * as ingest from './actions/ingest.operation';

/** File Ingest's one operation brings its fields from ./actions/ingest.operation.ts. */
export const properties: INodeProperties[] = [...ingest.description];
