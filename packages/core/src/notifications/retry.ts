/**
 * The retry policy of a delivery: the first attempt is at once; after a failure, the next waits the delay of
 * its turn (1 s, 5 s, 30 s, 2 min, 10 min by default), varied at random by +-jitter so that the retries of many
 * deliveries that failed together (a receiver that was down) do not all come back in the same instant.
 */
export function retryDelay(delaysMs: readonly number[], failedAttempts: number, jitter: number, random: () => number): number | undefined {
  const base = delaysMs[failedAttempts - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (1 - jitter + 2 * jitter * random()));
}

/**
 * Whether an HTTP answer may be worth trying again: 2xx is delivered; 408 (timeout) and 429 (too many requests)
 * and every 5xx and 3xx (no redirect is followed) are retried; any other 4xx says the request itself is refused.
 */
export function retryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status < 400 || status >= 500;
}
