import jsonata from 'jsonata';
import { compileFast, notFast } from './expression-fast';

export { notFast } from './expression-fast';

/**
 * User expressions (DESIGN.md invariant 10): JSONata, never eval or node:vm, evaluated with limits. JSONata calls
 * its `__evaluate_entry` / `__evaluate_exit` hooks around every step of an evaluation; they count steps, depth
 * and the wall time and abort when one passes its bound, so a recursive function or a huge range cannot hold the
 * event loop. `$now()` and `$millis()` read the evaluation's clock (live: the clock port; replay: simulated time),
 * and `$eval` is refused (an expression must be checked when it is saved).
 */
export interface ExpressionLimits {
  /** Wall time of one evaluation. */
  timeoutMs: number;
  /** Evaluation steps (JSONata AST nodes visited). */
  maxSteps: number;
  /** Nesting of evaluation (recursion). */
  maxDepth: number;
  /** Items of any array a step may produce. */
  maxArrayItems: number;
}

export const defaultExpressionLimits: ExpressionLimits = { timeoutMs: 50, maxSteps: 100_000, maxDepth: 200, maxArrayItems: 100_000 };

/** Why an expression stopped: its message names the limit. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  constructor(
    message: string,
    readonly limit: boolean,
  ) {
    super(message);
  }
}

export interface CompiledExpression {
  readonly source: string;
  /** Evaluates against `input` with `$name` variables from `bindings`; `now` is the clock ms of the evaluation. */
  evaluate(input: unknown, bindings: Record<string, unknown>, now: number): Promise<unknown>;
  /** The same answer at once for the simple expressions expression-fast.ts compiles; else `notFast` (then call evaluate). */
  tryFast(input: unknown, bindings: Readonly<Record<string, unknown>>): unknown;
}

/** A JSONata syntax error as a one-line message with the position: "position 7: Expected ")"". */
export function expressionProblem(source: string): string | undefined {
  try {
    jsonata(source);
    return undefined;
  } catch (e) {
    return describe(e);
  }
}

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) {
    const m = e as { message: string; position?: number; token?: string };
    return m.position === undefined ? m.message : `position ${m.position}: ${m.message}`;
  }
  return String(e);
}

// jsonata 2 looks its step hooks up under these symbols (jsonata.js evaluate()); assign() binds any key.
const entryHook = Symbol.for('jsonata.__evaluate_entry') as unknown as string;
const exitHook = Symbol.for('jsonata.__evaluate_exit') as unknown as string;

const refuseEval = () => {
  throw new ExpressionError('$eval is not available in rule expressions', false);
};

export function compileExpression(source: string, limits: ExpressionLimits = defaultExpressionLimits): CompiledExpression {
  const expr = jsonata(source);
  // One evaluation at a time per compiled expression (the engine evaluates sequentially), so its budget can live here.
  let steps = 0;
  let depth = 0;
  let started = 0;
  let evalNow = 0;
  const check = () => {
    if (++steps > limits.maxSteps) throw new ExpressionError(`expression passed ${limits.maxSteps} evaluation steps`, true);
    if (depth > limits.maxDepth) throw new ExpressionError(`expression nested deeper than ${limits.maxDepth} (non-terminating recursion?)`, true);
    if ((steps & 63) === 0 && performance.now() - started > limits.timeoutMs) {
      throw new ExpressionError(`expression ran longer than ${limits.timeoutMs} ms`, true);
    }
  };
  expr.assign(entryHook, () => {
    depth++;
    check();
  });
  expr.assign(exitHook, (_e: unknown, _i: unknown, _env: unknown, result: unknown) => {
    depth--;
    if (Array.isArray(result) && result.length > limits.maxArrayItems) {
      throw new ExpressionError(`expression built an array of ${result.length} items (limit ${limits.maxArrayItems})`, true);
    }
  });
  expr.registerFunction('now', () => new Date(evalNow).toISOString(), '<:s>');
  expr.registerFunction('millis', () => evalNow, '<:n>');
  expr.registerFunction('eval', refuseEval);
  const fast = compileFast(expr.ast());
  return {
    source,
    tryFast: fast ?? (() => notFast),
    async evaluate(input, bindings, now) {
      steps = 0;
      depth = 0;
      started = performance.now();
      evalNow = now;
      try {
        return (await expr.evaluate(input, bindings)) as unknown;
      } catch (e) {
        if (e instanceof ExpressionError) throw e;
        throw new ExpressionError(describe(e), false);
      }
    },
  };
}

/** JSONata's truthiness for a condition: a boolean as it is, anything else by JSONata's $boolean rules. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.some(truthy);
  if (typeof v === 'function') return false;
  return Object.keys(v).length > 0;
}
