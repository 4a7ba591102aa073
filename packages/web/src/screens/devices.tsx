import type { Device, DeviceProfile } from '@thingstead/contract';
import { useCallback, useEffect, useState, type SyntheticEvent } from 'react';
import { api, ApiError } from '../api';
import { ago } from '../format';
import { live, type LiveMessage } from '../live';
import { href } from '../route';
import { DeviceExamples } from './examples';

type Page<T> = { items: T[]; total: number };
type Online = 'all' | 'online' | 'offline';
const pageSize = 50;

export function Devices() {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [online, setOnline] = useState<Online>('all');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<Device> | null>(null);
  const [profiles, setProfiles] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ device: Device; token: string } | null>(null);

  // The search box is applied 250 ms after the last key.
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(search.trim());
      setOffset(0);
    }, 250);
    return () => {
      clearTimeout(t);
    };
  }, [search]);

  const load = useCallback(() => {
    const q = new URLSearchParams({ limit: String(pageSize), offset: String(offset), sort: 'name', order: 'asc' });
    if (query !== '') q.set('search', query);
    if (online !== 'all') q.set('connected', String(online === 'online'));
    api.get<Page<Device>>(`/api/devices?${q.toString()}`).then(
      (p) => {
        setPage(p);
        setError(null);
      },
      (e: unknown) => {
        setError(e instanceof ApiError ? e.message : String(e));
      },
    );
  }, [query, online, offset]);
  useEffect(load, [load]);

  useEffect(() => {
    api.get<Page<DeviceProfile>>('/api/device-profiles?limit=1000').then(
      (p) => {
        setProfiles(new Map(p.items.map((x) => [x.id, x.name])));
      },
      () => undefined,
    );
  }, []);

  // Online state and last activity change live for every device of the tenant.
  useEffect(
    () =>
      live.subscribe({ kind: 'connectivity', target: { filter: {} } }, (m: LiveMessage) => {
        if (m.type !== 'connectivity') return;
        setPage(
          (p) =>
            p && {
              ...p,
              items: p.items.map((d) =>
                d.id === m.deviceId
                  ? { ...d, connected: m.connected === true, active: m.active === true, lastActivityAt: typeof m.at === 'number' ? m.at : d.lastActivityAt }
                  : d,
              ),
            },
        );
      }),
    [],
  );

  return (
    <section aria-labelledby="devices-title">
      <div className="toolbar">
        <h1 id="devices-title">Devices</h1>
        <span className="spacer" />
        <CreateDevice
          onCreated={(device, token) => {
            setCreated({ device, token });
            load();
          }}
        />
      </div>
      {created && (
        <DeviceExamples
          device={created.device}
          token={created.token}
          onClose={() => {
            setCreated(null);
          }}
        />
      )}
      <div className="filters">
        <input
          type="search"
          placeholder="Search by name"
          aria-label="Search devices by name"
          value={search}
          onChange={(e) => {
            setSearch(e.target.value);
          }}
        />
        <select
          aria-label="Online state"
          value={online}
          onChange={(e) => {
            setOnline(e.target.value as Online);
            setOffset(0);
          }}
        >
          <option value="all">Online and offline</option>
          <option value="online">Online</option>
          <option value="offline">Offline</option>
        </select>
      </div>
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {page && page.items.length === 0 && (
        <div className="empty">
          {query === '' && online === 'all' ? (
            <>
              <h2>No devices yet</h2>
              <p>Create one above: you get its access token and a line to send its first value with mosquitto_pub or curl.</p>
            </>
          ) : (
            <p>No device matches these filters.</p>
          )}
        </div>
      )}
      {page && page.items.length > 0 && (
        <>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Profile</th>
                <th scope="col">State</th>
                <th scope="col">Last activity</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((d) => (
                <tr key={d.id}>
                  <td>
                    <a href={href({ screen: 'device', id: d.id })}>{d.name}</a>
                    {d.label !== '' && <span className="muted"> {d.label}</span>}
                  </td>
                  <td>{profiles.get(d.profileId) ?? ''}</td>
                  <td>
                    <span className={`lamp ${d.connected ? 'on' : 'off'}`} aria-hidden="true" /> {d.connected ? 'Online' : d.active ? 'Active' : 'Offline'}
                  </td>
                  <td>{ago(d.lastActivityAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <span className="muted">
              {offset + 1}–{offset + page.items.length} of {page.total}
            </span>
            <button
              type="button"
              disabled={offset === 0}
              onClick={() => {
                setOffset(Math.max(0, offset - pageSize));
              }}
            >
              Previous
            </button>
            <button
              type="button"
              disabled={offset + pageSize >= page.total}
              onClick={() => {
                setOffset(offset + pageSize);
              }}
            >
              Next
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function CreateDevice({ onCreated }: { onCreated: (d: Device, token: string) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    setError(null);
    void (async () => {
      try {
        const d = await api.post<Device>('/api/devices', { name: name.trim() });
        const c = await api.get<{ accessToken?: string }>(`/api/devices/${d.id}/credentials`);
        setName('');
        onCreated(d, c.accessToken ?? '');
      } catch (err) {
        setError(err instanceof ApiError ? err.message : String(err));
      }
    })();
  };
  return (
    <form className="inline" onSubmit={submit}>
      <input
        placeholder="New device name"
        aria-label="New device name"
        required
        maxLength={255}
        value={name}
        onChange={(e) => {
          setName(e.target.value);
        }}
      />
      <button type="submit" className="primary">
        Create device
      </button>
      {error !== null && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
