import { PermanentDeliveryError, type HttpPoster } from '@thingstead/core';

/**
 * The HttpPoster port over Node's fetch (undici). Redirects are not followed (a 3xx is an answer like any other,
 * retried), the answer's body is not read, and only http and https URLs are requested: core checks them when a
 * channel is saved, this checks again at the boundary where the request is made.
 */
export function fetchPoster(): HttpPoster {
  return {
    post: async (url, body, headers, timeoutMs) => {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PermanentDeliveryError(`webhooks use http or https, not ${u.protocol}`);
      const res = await fetch(u, { method: 'POST', body, headers: { ...headers }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status };
    },
  };
}
