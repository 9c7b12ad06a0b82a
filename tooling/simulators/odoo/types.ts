// Shared value types of the Odoo simulator.
//
// Three layers of values exist and are kept apart on purpose:
//  - `Json`: what clients send (XML-RPC params, JSON-2 bodies and JSON-RPC params all decode to it);
//  - `StoredValue`: what a table cell holds (NULL is `null`, like the Postgres column behind it);
//  - `RpcValue`: what the ORM answers with, before a protocol encodes it. It keeps Python's
//    int/float distinction (`PyFloat`) because Odoo's XML-RPC marshaller writes `<double>` for
//    every float/monetary field, even 100.0, and `<int>` for integers and ids.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A table cell. x2many cells hold id lists; json fields hold objects. */
export type StoredValue = string | number | boolean | null | number[] | JsonObject;

/** One stored record. `__seq` is the simulated heap position (see Store.physical). */
export interface Row {
  id: number;
  __seq?: number;
  [field: string]: StoredValue | undefined;
}

/** A Python float on the wire: XML-RPC `<double>`, JSON number. */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export type RpcValue =
  | string
  | number
  | boolean
  | PyFloat
  | RpcValue[]
  | { [key: string]: RpcValue };

export type RpcStruct = { [key: string]: RpcValue };

/** Odoo's `context` dict as received (active_test, lang, tz, ...). */
export type Context = { [key: string]: Json };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** Python truthiness, which Odoo relies on for limits, lists and flags (`limit=0` means no limit). */
export function pyTruthy(v: Json | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}
