import type { Device } from '@thingstead/contract';
import { useEffect, useState } from 'react';
import { api, ApiError } from '../api';
import { ago, valueText } from '../format';
import { foldLatest, type Latest } from '../latest';
import { live, type LiveMessage } from '../live';
import { href } from '../route';
import { AttributesPanel } from './attributes';
import { DeviceChart } from './chart';
import { DeviceExamples } from './examples';

export function DevicePage({ id }: { id: string }) {
  const [device, setDevice] = useState<Device | null>(null);
  const [latest, setLatest] = useState<Latest>({});
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setDevice(null);
    setLatest({});
    api.get<Device>(`/api/devices/${encodeURIComponent(id)}`).then(setDevice, (e: unknown) => {
      setError(e instanceof ApiError ? e.message : String(e));
    });
    const unsubscribe = [
      live.subscribe({ kind: 'telemetry', target: { deviceId: id } }, (m: LiveMessage) => {
        if (m.type === 'telemetry') setLatest((l) => foldLatest(l, m.values as Latest));
        else if (m.type === 'error') setError(typeof m.message === 'string' ? m.message : 'The live subscription failed.');
      }),
      live.subscribe({ kind: 'connectivity', target: { deviceId: id } }, (m: LiveMessage) => {
        if (m.type !== 'connectivity') return;
        setDevice(
          (d) => d && { ...d, connected: m.connected === true, active: m.active === true, lastActivityAt: typeof m.at === 'number' ? m.at : d.lastActivityAt },
        );
      }),
    ];
    return () => {
      for (const u of unsubscribe) u();
    };
  }, [id]);

  if (error !== null)
    return (
      <section>
        <p className="error" role="alert">
          {error}
        </p>
        <a href={href({ screen: 'devices' })}>Back to the devices</a>
      </section>
    );
  if (!device) return <p className="muted">Loading…</p>;
  const keys = Object.keys(latest).sort();
  return (
    <section aria-labelledby="device-title">
      <div className="toolbar">
        <h1 id="device-title">{device.name}</h1>
        <span className={`lamp ${device.connected ? 'on' : 'off'}`} aria-hidden="true" />
        <span>{device.connected ? 'Online' : device.active ? 'Active' : 'Offline'}</span>
        <span className="muted">last activity {ago(device.lastActivityAt)}</span>
        <span className="spacer" />
        <button
          type="button"
          onClick={() => {
            api.get<{ accessToken?: string }>(`/api/devices/${encodeURIComponent(id)}/credentials`).then(
              (c) => {
                setToken(c.accessToken ?? '');
              },
              (e: unknown) => {
                setError(e instanceof ApiError ? e.message : String(e));
              },
            );
          }}
        >
          Show credentials
        </button>
      </div>
      {token !== null && (
        <DeviceExamples
          device={device}
          token={token}
          onClose={() => {
            setToken(null);
          }}
        />
      )}
      <h2>Latest values</h2>
      {keys.length === 0 ? (
        <div className="empty">
          <p>No telemetry yet. Values appear here as soon as the device sends them.</p>
        </div>
      ) : (
        <div className="values">
          {keys.map((k) => {
            const v = latest[k];
            return (
              v && (
                <div key={k} className="value card" data-key={k}>
                  <div className="muted">{k}</div>
                  <div className="big" data-testid={`value-${k}`}>
                    {valueText(v.value)}
                  </div>
                  <div className="muted small">{new Date(v.ts).toLocaleString()}</div>
                </div>
              )
            );
          })}
        </div>
      )}
      {keys.some((k) => typeof latest[k]?.value === 'number') && (
        <>
          <h2>Chart</h2>
          <DeviceChart deviceId={device.id} keys={keys.filter((k) => typeof latest[k]?.value === 'number')} latest={latest} />
        </>
      )}
      <h2>Attributes</h2>
      <AttributesPanel deviceId={device.id} />
    </section>
  );
}
