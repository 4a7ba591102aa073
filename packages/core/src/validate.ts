import { fail } from './errors';
import { jsonProblem } from './json';

/** Small validators for what JSON schemas at the boundary cannot express; each names the field it checks. */
export function cleanName(value: string, field = 'name', max = 255): string {
  const v = value.trim();
  if (v.length === 0) fail('VALIDATION', `${field} must not be empty.`, { field });
  if (v.length > max) fail('VALIDATION', `${field} must be at most ${max} characters.`, { field });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) fail('VALIDATION', `${field} must not contain control characters.`, { field });
  return v;
}

export function jsonObject(value: unknown, field: string, maxBytes: number): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('VALIDATION', `${field} must be a JSON object.`, { field });
  const problem = jsonProblem(value);
  if (problem !== undefined) fail('VALIDATION', `${field}: ${problem}.`, { field });
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > maxBytes) fail('VALIDATION', `${field} is ${size} bytes; the limit is ${maxBytes}.`, { field });
  return value as Record<string, unknown>;
}

export function cleanEmail(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(v)) fail('VALIDATION', 'email must be an email address.', { field: 'email' });
  return v;
}

export const minPasswordLength = 8;

export function checkPassword(value: string): string {
  if (value.length < minPasswordLength) fail('VALIDATION', `password must be at least ${minPasswordLength} characters.`, { field: 'password' });
  if (value.length > 1024) fail('VALIDATION', 'password must be at most 1024 characters.', { field: 'password' });
  return value;
}
