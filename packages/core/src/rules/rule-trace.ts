export interface TraceAction {
  type: string;
  index: number;
  detail: Record<string, unknown>;
  status: 'running' | 'done' | 'failed';
  /** What the action reported (an alarm id, "sent", ...) or why it failed. */
  outcome?: string;
}

/** One evaluation of a rule for a device, as GET /api/rules/{id}/trace shows it. */
export interface TraceEntry {
  at: number;
  deviceId: string;
  trigger: string;
  /** The triggering message's values (or the event), cut to a few KB. */
  input: Record<string, unknown>;
  analytics: Record<string, number | null>;
  result: boolean | null;
  change: 'rise' | 'fall' | null;
  actions: TraceAction[];
  error: string | null;
  durationMs: number;
}

export interface RuleStats {
  evaluations: number;
  errors: number;
  /** Errors in a row (the engine disables a rule whose count reaches its limit). */
  consecutiveErrors: number;
  lastError: string | null;
  lastErrorAt: number | null;
  actionsRun: number;
  actionsFailed: number;
  /** Actions refused because too many were in flight. */
  actionsDropped: number;
}

export const emptyStats = (): RuleStats => ({
  evaluations: 0,
  errors: 0,
  consecutiveErrors: 0,
  lastError: null,
  lastErrorAt: null,
  actionsRun: 0,
  actionsFailed: 0,
  actionsDropped: 0,
});

const maxInputBytes = 2048;

/** A message's values for the trace, cut so one entry stays small. */
export function traceInput(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let size = 0;
  for (const [k, v] of Object.entries(values)) {
    const text = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    size += k.length + text.length;
    if (size > maxInputBytes) {
      out['…'] = 'cut';
      break;
    }
    out[k] = v;
  }
  return out;
}

/**
 * The recent evaluations of one rule, bounded: every one that changed the result, ran an action or failed, and
 * at most one unchanged evaluation per `sampleMs`, so a rule evaluated 10,000 times a second costs little.
 */
export class RuleTrace {
  private readonly entries: TraceEntry[] = [];
  private lastSampled = -Infinity;

  constructor(
    private readonly size = 100,
    private readonly sampleMs = 1000,
  ) {}

  /** Whether an unremarkable evaluation at `now` is recorded. */
  wants(now: number): boolean {
    return now - this.lastSampled >= this.sampleMs;
  }

  add(e: TraceEntry): void {
    if (e.change === null && e.actions.length === 0 && e.error === null) this.lastSampled = e.at;
    this.entries.push(e);
    if (this.entries.length > this.size) this.entries.shift();
  }

  /** Newest first. */
  list(): TraceEntry[] {
    return [...this.entries].reverse();
  }
}
