/**
 * A fast path for the simple JSONata expressions most rules are made of (`temperature > 30 and $device.name !=
 * 'x'`, `voltage * current`): their AST compiled once into plain closures that run synchronously. Only names,
 * `$variable.name` paths, literals, arithmetic, comparison, equality, and/or, unary minus and one-expression
 * blocks are compiled, and only while every value met is a string, number, boolean or undefined: anything else
 * (an array, an object, null, a type error, a non-finite number) answers `notFast`, and the caller runs the
 * interpreter, which then gives JSONata's own answer or error. The fast path never decides a case differently;
 * `expression-fast.test.ts` compares the two.
 */
export const notFast: unique symbol = Symbol('notFast');

type Fast = (input: unknown, bindings: Readonly<Record<string, unknown>>) => unknown;
type Node = Record<string, unknown>;

const primitive = (v: unknown): boolean => v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

function step(v: unknown, name: string): unknown {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return notFast;
  return Object.hasOwn(v, name) ? (v as Record<string, unknown>)[name] : undefined;
}

function compilePath(steps: unknown): Fast | undefined {
  if (!Array.isArray(steps) || steps.length === 0) return undefined;
  const names: string[] = [];
  let variable: string | undefined;
  for (const [i, s] of (steps as Node[]).entries()) {
    const keys = Object.keys(s).filter((k) => k !== 'position');
    if (keys.length !== 2 || typeof s.value !== 'string') return undefined;
    if (s.type === 'variable' && i === 0) variable = s.value;
    else if (s.type === 'name') names.push(s.value);
    else return undefined;
  }
  if (variable === '') return undefined; // `$`: the context, not a variable
  return (input, bindings) => {
    let v: unknown;
    if (variable === undefined) v = input;
    else if (Object.hasOwn(bindings, variable)) v = bindings[variable];
    else return notFast; // a built-in function, or an unknown variable
    if (variable !== undefined && names.length === 0) return primitive(v) ? v : notFast;
    for (const n of names) {
      v = step(v, n);
      if (v === notFast) return notFast;
    }
    return primitive(v) ? v : notFast;
  };
}

function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  return false; // undefined
}

/** Both operands' values, then `f` of them; `notFast` when either is. */
function operands(l: Fast, r: Fast, f: (x: unknown, y: unknown) => unknown): Fast {
  return (i, b) => {
    const x = l(i, b);
    if (x === notFast) return notFast;
    const y = r(i, b);
    return y === notFast ? notFast : f(x, y);
  };
}

function arithmetic(op: string, x: unknown, y: unknown): unknown {
  if ((x !== undefined && typeof x !== 'number') || (y !== undefined && typeof y !== 'number')) return notFast;
  if (x === undefined || y === undefined) return undefined;
  const out = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
  return Number.isFinite(out) ? out : notFast;
}

function comparison(op: string, x: unknown, y: unknown): unknown {
  if (typeof x === 'boolean' || typeof y === 'boolean') return notFast;
  if (x === undefined || y === undefined) return undefined;
  if (typeof x !== typeof y) return notFast;
  const [p, q] = [x as number, y as number];
  return op === '<' ? p < q : op === '<=' ? p <= q : op === '>' ? p > q : p >= q;
}

function compileBinary(op: unknown, l: Fast, r: Fast): Fast | undefined {
  switch (op) {
    case 'and':
    case 'or':
      return (i, b) => {
        const a = l(i, b);
        if (a === notFast) return notFast;
        const la = bool(a);
        if (op === 'and' ? !la : la) return la;
        const c = r(i, b);
        return c === notFast ? notFast : bool(c);
      };
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return operands(l, r, (x, y) => arithmetic(op, x, y));
    case '=':
    case '!=':
      return operands(l, r, (x, y) => (x === undefined || y === undefined ? false : op === '=' ? x === y : x !== y));
    case '<':
    case '<=':
    case '>':
    case '>=':
      return operands(l, r, (x, y) => comparison(op, x, y));
    default:
      return undefined;
  }
}

/** The fast form of a JSONata AST, or undefined when it uses anything beyond the subset. */
export function compileFast(ast: unknown): Fast | undefined {
  if (ast === null || typeof ast !== 'object') return undefined;
  const n = ast as Node;
  const extra = Object.keys(n).filter((k) => !['type', 'value', 'position', 'lhs', 'rhs', 'steps', 'expression', 'expressions'].includes(k));
  if (extra.length > 0) return undefined; // predicates, grouping, focus, keepArray, ...
  switch (n.type) {
    case 'number':
    case 'string': {
      const v = n.value;
      return () => v;
    }
    case 'value':
      return typeof n.value === 'boolean' ? () => n.value : undefined;
    case 'path':
      return compilePath(n.steps);
    case 'variable':
      return compilePath([{ type: 'variable', value: n.value }]);
    case 'block': {
      const inner = Array.isArray(n.expressions) && n.expressions.length === 1 ? compileFast(n.expressions[0]) : undefined;
      return inner;
    }
    case 'unary': {
      if (n.value !== '-') return undefined;
      const e = compileFast(n.expression);
      if (!e) return undefined;
      return (i, b) => {
        const v = e(i, b);
        if (v === undefined) return undefined;
        return typeof v === 'number' ? -v : notFast;
      };
    }
    case 'binary': {
      const l = compileFast(n.lhs);
      const r = compileFast(n.rhs);
      return l && r ? compileBinary(n.value, l, r) : undefined;
    }
    default:
      return undefined;
  }
}
