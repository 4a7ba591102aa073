import { fail } from '../errors';
import { parseJsonPayload } from '../telemetry/decode';

/**
 * The ThingsBoard gateway API's JSON forms (ThingsBoard's GatewaySessionHandler), parsed and checked before
 * anything is looked up or written. Each parser takes the raw payload (bytes or text) or parsed JSON and throws
 * GATEWAY_INVALID naming the problem. Values inside (telemetry, attributes, RPC answers) are checked later by
 * the services that store them, by the same rules as a device's own.
 */

/** Longest device name a gateway may send (the name rules of every device, validate.ts cleanName). */
export const maxDeviceNameLength = 255;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const json = (payload: unknown): unknown =>
  payload instanceof Uint8Array || typeof payload === 'string' ? parseJsonPayload(payload, 'GATEWAY_INVALID') : payload;

function object(payload: unknown, form: string): Record<string, unknown> {
  const v = json(payload);
  if (!isObject(v)) return fail('GATEWAY_INVALID', `Send a JSON object ${form}.`);
  return v;
}

function deviceName(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.trim().length === 0) return fail('GATEWAY_INVALID', `${where}: the device name must be a non-empty string.`);
  if (v.length > maxDeviceNameLength) return fail('GATEWAY_INVALID', `${where}: the device name must be at most ${maxDeviceNameLength} characters.`);
  return v;
}

/** v1/gateway/connect {"device":"Device A","type":"thermostat"}: type names the child's device profile (optional). */
export function parseConnect(payload: unknown): { device: string; type: string | undefined } {
  const o = object(payload, '{"device":"<name>","type":"<profile>"}');
  const device = deviceName(o.device, 'device');
  if (o.type !== undefined && o.type !== null && (typeof o.type !== 'string' || o.type.trim().length === 0 || o.type.length > maxDeviceNameLength))
    fail('GATEWAY_INVALID', `type must be a non-empty string of at most ${maxDeviceNameLength} characters (a device profile name).`);
  return { device, type: typeof o.type === 'string' ? o.type : undefined };
}

/** v1/gateway/disconnect {"device":"Device A"}. */
export function parseDisconnect(payload: unknown): { device: string } {
  return { device: deviceName(object(payload, '{"device":"<name>"}').device, 'device') };
}

/**
 * v1/gateway/telemetry {"Device A":[{"ts":ms,"values":{..}}, ..], "Device B":..} and v1/gateway/attributes
 * {"Device A":{"k":v}}: one entry per device, in the message's order. A telemetry entry is any form a device
 * sends on its own (an array of {ts, values}, one {ts, values}, or plain {"k":v}), and {"values":{..}} without
 * ts for values of now; an attribute entry is an object.
 */
export function parsePerDevice(payload: unknown, o: { what: 'telemetry' | 'attributes'; maxDevices: number }): { device: string; payload: unknown }[] {
  const body = object(payload, o.what === 'telemetry' ? '{"<device name>":[{"ts":<ms>,"values":{..}}]}' : '{"<device name>":{"<key>":<value>}}');
  const entries = Object.entries(body);
  if (entries.length > o.maxDevices)
    fail('GATEWAY_INVALID', `The message names ${entries.length} devices; at most ${o.maxDevices} are allowed in one message.`);
  return entries.map(([name, value]) => {
    const device = deviceName(name, JSON.stringify(name.slice(0, 64)));
    if (o.what === 'attributes' ? !isObject(value) : typeof value !== 'object' || value === null)
      fail(
        'GATEWAY_INVALID',
        `${JSON.stringify(device)}: ${o.what === 'telemetry' ? 'an array of {"ts","values"} or an object' : 'an object of attributes'} is expected.`,
      );
    return { device, payload: o.what === 'telemetry' ? serverTimed(value) : value };
  });
}

/**
 * Gateways send {"values":{..}} without "ts" for values of now; to a device's telemetry decoder that would be one
 * key named "values". Such an entry becomes the plain {"k":v} form, which takes the server's time.
 */
function serverTimed(entry: unknown): unknown {
  if (Array.isArray(entry)) return entry.map(serverTimed);
  if (isObject(entry) && isObject(entry.values) && Object.keys(entry).length === 1) return entry.values;
  return entry;
}

/**
 * v1/gateway/attributes/request {"id":1,"device":"Device A","client":true,"key":"k"} or "keys":["a","b"]:
 * client true asks for client attributes, false for shared ones; neither key nor keys asks for all of the scope.
 */
export interface AttributeRequest {
  id: number | string;
  device: string;
  scope: 'client' | 'shared';
  /** One key ("key": the answer has "value"), several ("keys": the answer has "values"), or all (undefined). */
  key?: string;
  keys?: string[];
}

export function parseAttributeRequest(payload: unknown): AttributeRequest {
  const o = object(payload, '{"id":<n>,"device":"<name>","client":true|false,"key":"<key>"}');
  const id = requestId(o.id);
  const device = deviceName(o.device, 'device');
  if (typeof o.client !== 'boolean') fail('GATEWAY_INVALID', 'client must be true (client attributes) or false (shared attributes).');
  const scope = o.client ? 'client' : 'shared';
  if (o.key !== undefined) {
    if (typeof o.key !== 'string') fail('GATEWAY_INVALID', 'key must be a string.');
    return { id, device, scope, key: o.key };
  }
  if (o.keys !== undefined) {
    if (!Array.isArray(o.keys) || !o.keys.every((k) => typeof k === 'string')) fail('GATEWAY_INVALID', 'keys must be an array of strings.');
    return { id, device, scope, keys: o.keys };
  }
  return { id, device, scope };
}

/** The gateway's answer to a command: v1/gateway/rpc {"device":"Device A","id":1,"data":{..}}. */
export function parseRpcResponse(payload: unknown): { device: string; id: string; data: unknown } {
  const o = object(payload, '{"device":"<name>","id":<rpc id>,"data":<answer>}');
  const device = deviceName(o.device, 'device');
  if (typeof o.id !== 'number' && typeof o.id !== 'string') fail('GATEWAY_INVALID', 'id must be the id of the RPC request being answered.');
  if (!('data' in o)) fail('GATEWAY_INVALID', 'data must hold the answer (any JSON).');
  return { device, id: String(o.id), data: o.data };
}

/** A request id is echoed in the answer: a safe integer (as ThingsBoard sends) or a short string. */
function requestId(v: unknown): number | string {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && v.length > 0 && v.length <= 64) return v;
  return fail('GATEWAY_INVALID', 'id must be an integer (or a string of at most 64 characters), echoed in the answer.');
}
