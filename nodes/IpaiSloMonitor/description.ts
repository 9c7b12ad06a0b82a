import type { INodeProperties } from 'n8n-workflow';
import { forOperations, resourceOperations } from '../shared/resources';
import { optionsField, outputField, slosField } from './actions/common';
import * as evaluate from './actions/evaluate.operation';
import * as getStatus from './actions/getStatus.operation';
import * as notify from './actions/notify.operation';
import * as postMessage from './actions/postMessage.operation';
import * as setSlo from './actions/setSlo.operation';
import * as silence from './actions/silence.operation';
import * as unsilence from './actions/unsilence.operation';

const operation: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: [
		{
			name: 'Evaluate',
			value: 'evaluate',
			action: 'Evaluate service level objectives',
			description: 'Evaluate every SLO, update alert state, and return the SLO status and the notifications due',
		},
		{ name: 'Get Status', value: 'getStatus', action: 'Get service level objective status', description: 'Read SLO status, alerts and silences without changing anything' },
		{
			name: 'Notify',
			value: 'notify',
			action: 'Send due alert notifications',
			description: 'Deliver due notifications to Mattermost and record them (evaluating first by default)',
		},
		{
			name: 'Post Message',
			value: 'postMessage',
			action: 'Post a message to mattermost',
			description: 'Post one message (e.g. a failed pipeline, from the error workflow) with the alerts\' look, redaction and retries',
		},
		{ name: 'Set SLO', value: 'setSlo', action: 'Create or update a service level objective', description: 'Add an SLO or change one, by code name' },
		{ name: 'Silence', value: 'silence', action: 'Silence alerts', description: 'Mute matching alerts for a while (expires by itself)' },
		{ name: 'Unsilence', value: 'unsilence', action: 'Expire a silence', description: 'End a silence now' },
	],
	default: 'evaluate',
};

/**
 * Each operation's own fields come from its file in ./actions; fields several operations show are
 * defined once in ./actions/common.ts and shown for them here, where the editor shows them.
 */
export const properties: INodeProperties[] = [
	...resourceOperations(operation, [
		{ name: 'SLO', value: 'slo', description: 'Evaluate, read and define service level objectives', operations: ['evaluate', 'getStatus', 'setSlo'] },
		{ name: 'Alert', value: 'alert', description: 'Deliver the alert notifications that are due', operations: ['notify'] },
		{ name: 'Silence', value: 'silence', description: 'Mute matching alerts for a while, or end a silence', operations: ['silence', 'unsilence'] },
		{ name: 'Message', value: 'message', description: 'Post one message with the alerts\' look, redaction and retries', operations: ['postMessage'] },
	]),

	...forOperations(['evaluate', 'getStatus', 'notify'], [slosField]),
	...notify.description,
	...forOperations(['evaluate', 'getStatus'], [outputField]),
	...forOperations(['evaluate', 'getStatus', 'notify'], [optionsField]),
	...evaluate.description,
	...getStatus.description,
	...postMessage.description,
	...setSlo.description,
	...silence.description,
	...unsilence.description,
];
