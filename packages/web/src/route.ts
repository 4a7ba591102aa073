// Routes as the location hash (#/devices, #/devices/<id>): the server serves one page, and a reload or a shared
// link opens the same screen.
import { useEffect, useState } from 'react';

export type Route = { screen: 'devices' } | { screen: 'device'; id: string };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p.length > 0);
  if (parts[0] === 'devices' && parts[1] !== undefined) return { screen: 'device', id: decodeURIComponent(parts[1]) };
  return { screen: 'devices' };
}

export function href(r: Route): string {
  return r.screen === 'device' ? `#/devices/${encodeURIComponent(r.id)}` : '#/devices';
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => {
      setRoute(parseRoute(location.hash));
    };
    window.addEventListener('hashchange', on);
    return () => {
      window.removeEventListener('hashchange', on);
    };
  }, []);
  return route;
}
