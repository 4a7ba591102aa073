// TEMPORARY stand-in until the compressed codec lands (same API).
import type { TelemetryValue } from '@thingstead/core';

export function encodeChunk(ts: readonly number[], values: readonly TelemetryValue[]): Uint8Array {
  return Buffer.from(JSON.stringify([ts, values]));
}

export function decodeChunk(data: Uint8Array): { ts: number[]; values: TelemetryValue[] } {
  const [ts, values] = JSON.parse(Buffer.from(data).toString()) as [number[], TelemetryValue[]];
  return { ts, values };
}

export function chunkCount(data: Uint8Array): number {
  return decodeChunk(data).ts.length;
}
