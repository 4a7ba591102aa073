import { Cron } from 'croner';

/**
 * Schedules with croner's pattern parser and time-zone arithmetic; the timers are the clock port's (croner's own
 * timers would read the wall clock, and replay needs simulated time), so croner is only asked for the next time.
 */
export function cronOf(pattern: string, timezone: string | undefined): Cron {
  return new Cron(pattern, { paused: true, ...(timezone === undefined ? {} : { timezone }) });
}

/** Why a pattern or time zone cannot be used, or undefined. */
export function checkSchedule(pattern: string, timezone: string | undefined): { field: 'cron' | 'timezone'; message: string } | undefined {
  let cron: Cron;
  try {
    cron = cronOf(pattern, undefined);
  } catch (e) {
    return { field: 'cron', message: `is not a cron pattern: ${(e as Error).message}` };
  }
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
      cronOf(pattern, timezone).nextRun(new Date(0));
    } catch {
      return { field: 'timezone', message: 'must be an IANA time zone such as Europe/Berlin or UTC' };
    }
  }
  const next = cron.nextRun(new Date(0));
  const after = next ? cron.nextRun(next) : null;
  if (!next) return { field: 'cron', message: 'never fires' };
  if (after && after.getTime() - next.getTime() < 1000) return { field: 'cron', message: 'fires more than once a second; the shortest period is 1 s' };
  return undefined;
}

/** The first tick strictly after `after` (clock ms), or null when there is none. */
export function nextTick(cron: Cron, after: number): number | null {
  const d = cron.nextRun(new Date(after));
  return d ? d.getTime() : null;
}
