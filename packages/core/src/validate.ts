import { fail } from './errors';
import { jsonProblem } from './json';

/**
 * A lone UTF-16 surrogate (a "\ud800" escape in JSON without its pair): in a regular expression with the u flag
 * a character class of surrogates matches only unpaired ones. Such text is not Unicode; stored as UTF-8 it
 * would come back as U+FFFD, a different string.
 */
export const loneSurrogate = /[\ud800-\udfff]/u;
// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f\u007f]/;

/** Refuses text that is not well-formed Unicode (lone surrogates); names the field. */
export function wellFormed(value: string, field: string): string {
  if (loneSurrogate.test(value)) fail('VALIDATION', `${field} must be valid Unicode (it contains an unpaired surrogate).`, { field });
  return value;
}

/** Small validators for what JSON schemas at the boundary cannot express; each names the field it checks. */
export function cleanName(value: string, field = 'name', max = 255): string {
  const v = value.trim();
  if (v.length === 0) fail('VALIDATION', `${field} must not be empty.`, { field });
  if (v.length > max) fail('VALIDATION', `${field} must be at most ${max} characters.`, { field });
  if (controlCharacter.test(v)) fail('VALIDATION', `${field} must not contain control characters.`, { field });
  return wellFormed(v, field);
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
  // NUL and other control characters are not whitespace to \s, so the pattern alone let "a\u0000b@x.y" in.
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(v) || controlCharacter.test(v) || loneSurrogate.test(v)) {
    fail('VALIDATION', 'email must be an email address (no control characters, valid Unicode).', { field: 'email' });
  }
  return v;
}

export const minPasswordLength = 8;

export function checkPassword(value: string): string {
  if (value.length < minPasswordLength) fail('VALIDATION', `password must be at least ${minPasswordLength} characters.`, { field: 'password' });
  if (value.length > 1024) fail('VALIDATION', 'password must be at most 1024 characters.', { field: 'password' });
  // scrypt hashes the UTF-8 bytes: every lone surrogate would become U+FFFD, so different passwords would match.
  return wellFormed(value, 'password');
}
