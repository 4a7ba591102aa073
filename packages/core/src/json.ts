/**
 * Limits every parsed JSON document meets, whatever transport brought it (HTTP bodies, MQTT payloads).
 *
 * V8's JSON.parse itself is iterative, but everything after it (JSON.stringify for size checks and storage,
 * schema validation, response serialisation) recurses, so a 64 KiB document nested 5,000 deep used to
 * overflow the stack. Checking depth right after parsing keeps every later step safe.
 */
export const maxJsonDepth = 32;

/**
 * Why a parsed JSON value is refused, or undefined when it is fine: nesting deeper than maxDepth (the
 * top-level object or array is level 1), or a number JSON.parse turned into Infinity (such as 1e400), which
 * no store keeps and JSON.stringify would answer as null. Iterative, so it cannot exhaust the stack itself.
 */
export function jsonProblem(value: unknown, maxDepth = maxJsonDepth): string | undefined {
  if (typeof value !== 'object' || value === null) return typeof value === 'number' && !Number.isFinite(value) ? notFinite : undefined;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
    const depth = depths.pop() ?? 1;
    if (depth > maxDepth) return `JSON is nested deeper than ${maxDepth} levels`;
    const children: readonly unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      } else if (typeof child === 'number' && !Number.isFinite(child)) {
        return notFinite;
      }
    }
  }
  return undefined;
}

const notFinite = 'a number is out of range (beyond ±1.8e308); send finite numbers';
