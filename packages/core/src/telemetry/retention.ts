import type { Clock } from '../clock';
import type { Store } from '../store';

export interface RetentionOptions {
  /** Keep telemetry this many days; 0 keeps it forever. */
  retentionDays: number;
  /** Rows deleted (and series visited) per step, so a large backlog never holds the database for long. */
  retentionBatchRows: number;
}

const dayMs = 86_400_000;

/** Deletes expired telemetry in small batches, yielding between them so ingest keeps flowing. */
export class RetentionJob {
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly o: RetentionOptions,
  ) {}

  async runOnce(): Promise<{ deletedPoints: number }> {
    let deletedPoints = 0;
    const now = this.clock.now();
    await this.store.refreshTokens.deleteExpired(now);
    if (this.o.retentionDays <= 0) return { deletedPoints };
    const cutoff = now - this.o.retentionDays * dayMs;
    while (!this.stopped) {
      const step = await this.store.telemetry.deleteExpired(cutoff, this.o.retentionBatchRows);
      deletedPoints += step.deleted;
      if (step.done) break;
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 0));
    }
    return { deletedPoints };
  }

  stop(): void {
    this.stopped = true;
  }
}
