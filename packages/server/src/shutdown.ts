import type { Clock } from '@thingstead/core';

/** Retry-After (s) of what is refused while the server shuts down (HTTP 503, WebSocket upgrades): about a restart. */
export const shutdownRetryAfterSec = 5;

/** Resolves true once `done()` holds, false when `deadline` (clock ms) passes first; checks every pollMs. */
export async function waitUntil(clock: Clock, done: () => boolean, deadline: number, pollMs = 5): Promise<boolean> {
  for (;;) {
    if (done()) return true;
    const left = deadline - clock.now();
    if (left <= 0) return false;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(pollMs, left)));
  }
}

/** `p`, or undefined when it has not settled within ms. */
export async function settleWithin<T>(clock: Clock, p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>(
        (resolve) =>
          (timer = clock.setTimeout(() => {
            resolve(undefined);
          }, ms)),
      ),
    ]);
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
  }
}
