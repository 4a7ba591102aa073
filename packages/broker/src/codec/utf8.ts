import { isUtf8 } from 'node:buffer';

// mqtt-packet decodes strings with Buffer#toString, which silently replaces ill-formed
// UTF-8. The broker checks the raw bytes itself: [MQTT-1.5.4-1] (v5) / [MQTT-1.5.3-1]
// (3.1.1) make ill-formed UTF-8 a malformed packet.

function readVarInt(frame: Buffer, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (pos >= frame.length) return undefined;
    const b = frame[pos++] ?? 0;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return { value, next: pos };
    mul *= 128;
  }
  return undefined;
}

/** Skips a length-prefixed UTF-8 string at pos, checking it; returns the next position or -1. */
function checkString(frame: Buffer, pos: number): number {
  if (pos + 2 > frame.length) return -1;
  const len = frame.readUInt16BE(pos);
  const end = pos + 2 + len;
  if (end > frame.length) return -1;
  return isUtf8(frame.subarray(pos + 2, end)) ? end : -1;
}

function skipBinary(frame: Buffer, pos: number): number {
  if (pos + 2 > frame.length) return -1;
  const end = pos + 2 + frame.readUInt16BE(pos);
  return end > frame.length ? -1 : end;
}

function skipProperties(frame: Buffer, pos: number): number {
  const len = readVarInt(frame, pos);
  if (len === undefined) return -1;
  const end = len.next + len.value;
  return end > frame.length ? -1 : end;
}

/** Checks the filters of a SUBSCRIBE (withOptions) or UNSUBSCRIBE frame. */
export function filtersAreUtf8(frame: Buffer, headerLength: number, v5: boolean, withOptions: boolean): boolean {
  let pos = headerLength + 2;
  if (v5) pos = skipProperties(frame, pos);
  while (pos >= 0 && pos < frame.length) {
    pos = checkString(frame, pos);
    if (pos >= 0 && withOptions) pos += 1;
  }
  return pos === frame.length;
}

/** Checks the client id, will topic and user name of a CONNECT frame. */
export function connectStringsAreUtf8(frame: Buffer, headerLength: number): boolean {
  let pos = headerLength;
  pos = checkString(frame, pos); // protocol name
  if (pos < 0 || pos + 4 > frame.length) return false;
  const level = frame[pos] ?? 0;
  const flags = frame[pos + 1] ?? 0;
  pos += 4;
  const v5 = (level & 0x7f) === 5;
  if (v5) pos = skipProperties(frame, pos);
  pos = pos < 0 ? -1 : checkString(frame, pos); // client id
  if (pos >= 0 && (flags & 0x04) !== 0) {
    if (v5) pos = skipProperties(frame, pos);
    if (pos >= 0) pos = checkString(frame, pos); // will topic
    if (pos >= 0) pos = skipBinary(frame, pos); // will payload
  }
  if (pos >= 0 && (flags & 0x80) !== 0) pos = checkString(frame, pos); // user name
  return pos >= 0;
}
