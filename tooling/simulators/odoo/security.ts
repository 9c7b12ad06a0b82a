// Users, credentials and model access rights.
//
// Odoo behaviour reproduced:
//  - common.authenticate/login return the uid, or False (not a fault) for a wrong login, a wrong
//    password/API key or an archived user (odoo/service/common.py exp_authenticate catches
//    AccessDenied);
//  - object.execute_kw re-checks uid + password/API key on every call and raises AccessDenied
//    ('Access Denied', faultCode 3) when they do not match (odoo/service/security.py check);
//  - API keys work wherever a password does on XML-RPC/JSON-RPC (14.0+); JSON-2 accepts only
//    API keys, as a bearer token;
//  - reading a model the user has no ACL for raises AccessError with Odoo's three-part text
//    (ir_model.py _make_access_error / ir.model.access check): faultCode 4, HTTP 403.

import { accessError, OdooException } from './errors';
import { ModelDef } from './models';

export type Operation = 'read' | 'write' | 'create' | 'unlink';

export interface SimUser {
  uid: number;
  login: string;
  name: string;
  password: string | null;
  apiKeys: string[];
  active: boolean;
  /** Models the user may read; 'all' for an administrator. */
  readModels: 'all' | Set<string>;
  /** Models the user may create/write/unlink; 'all' for an administrator. */
  writeModels: 'all' | Set<string>;
}

export interface UserInit {
  login: string;
  name?: string;
  password?: string | null;
  apiKeys?: string[];
  active?: boolean;
  readModels?: 'all' | string[];
  writeModels?: 'all' | string[];
}

/** The hex string from Odoo's own JSON-2 documentation example; the admin's key by default. */
export const DEFAULT_ADMIN_API_KEY = '6578616d706c65206a736f6e20617069206b6579';

/** Models any internal user can read even when `readModels` is a restricted list. */
const ALWAYS_READABLE = new Set(['ir.model', 'res.users', 'res.company', 'res.currency', 'res.country']);

export function mayAccess(user: SimUser, model: string, op: Operation): boolean {
  const allowed = op === 'read' ? user.readModels : user.writeModels;
  if (allowed === 'all') return true;
  return allowed.has(model) || (op === 'read' && ALWAYS_READABLE.has(model));
}

const VERB: Record<Operation, string> = { read: 'access', write: 'modify', create: 'create', unlink: 'delete' };

export function modelAccessError(def: ModelDef, op: Operation): OdooException {
  const head = `You are not allowed to ${VERB[op]} '${def.description}' (${def.name}) records.`;
  const groups = def.readGroups.length
    ? `This operation is allowed for the following groups:\n${def.readGroups.map((g) => `\t- ${g}`).join('\n')}`
    : 'No group currently allows this operation.';
  return accessError(`${head}\n\n${groups}\n\nContact your administrator to request access if necessary.`);
}

export function checkAccess(user: SimUser, def: ModelDef, op: Operation): void {
  if (!mayAccess(user, def.name, op)) throw modelAccessError(def, op);
}

/** Password or API key, as res.users._check_credentials accepts on RPC. */
export function credentialMatches(user: SimUser, secret: unknown): boolean {
  if (typeof secret !== 'string' || secret === '') return false;
  return user.password === secret || user.apiKeys.includes(secret);
}
