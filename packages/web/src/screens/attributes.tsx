import { useEffect, useState, type SyntheticEvent } from 'react';
import { api, ApiError } from '../api';
import { valueText } from '../format';
import { emptyAttributes, foldAttributes, parseValue, type Attributes, type AttributeScope } from '../latest';
import { live, type LiveMessage } from '../live';

const scopes: { scope: AttributeScope; title: string; about: string }[] = [
  { scope: 'shared', title: 'Shared', about: 'Desired state: pushed to the device when it changes.' },
  { scope: 'server', title: 'Server', about: 'Kept by the platform, never shown to the device.' },
  { scope: 'client', title: 'Client', about: 'Reported by the device; read-only here.' },
];

/** A device's attributes of every scope, live, with editing of the shared and server ones. */
export function AttributesPanel({ deviceId }: { deviceId: string }) {
  const [attrs, setAttrs] = useState<Attributes>(emptyAttributes);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setAttrs(emptyAttributes);
    return live.subscribe({ kind: 'attributes', target: { deviceId } }, (m: LiveMessage) => {
      if (m.type === 'attributes') setAttrs((a) => foldAttributes(a, m as unknown as Parameters<typeof foldAttributes>[1]));
      else if (m.type === 'error') setError(typeof m.message === 'string' ? m.message : 'The live attributes subscription failed.');
    });
  }, [deviceId]);
  const fail = (e: unknown) => {
    setError(e instanceof ApiError ? `${e.message}${e.hint ? ` ${e.hint}` : ''}` : String(e));
  };
  return (
    <div className="attributes">
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {scopes.map(({ scope, title, about }) => {
        const keys = Object.keys(attrs[scope]).sort();
        return (
          <section key={scope} className="card" aria-label={`${title} attributes`}>
            <div className="toolbar">
              <h3>{title}</h3>
              <span className="muted small">{about}</span>
            </div>
            {keys.length === 0 ? (
              <p className="muted small">None.</p>
            ) : (
              <table className="list compact">
                <tbody>
                  {keys.map((k) => {
                    const a = attrs[scope][k];
                    return (
                      a && (
                        <tr key={k}>
                          <th scope="row">{k}</th>
                          <td data-testid={`attr-${scope}-${k}`}>{valueText(a.value)}</td>
                          <td className="muted small">{new Date(a.updatedAt).toLocaleString()}</td>
                          {scope !== 'client' && (
                            <td>
                              <button
                                type="button"
                                className="ghost small"
                                aria-label={`Delete ${scope} attribute ${k}`}
                                onClick={() => {
                                  setError(null);
                                  api
                                    .request('DELETE', `/api/devices/${encodeURIComponent(deviceId)}/attributes/${scope}?keys=${encodeURIComponent(k)}`)
                                    .catch(fail);
                                }}
                              >
                                Delete
                              </button>
                            </td>
                          )}
                        </tr>
                      )
                    );
                  })}
                </tbody>
              </table>
            )}
            {scope !== 'client' && (
              <SetAttribute
                scope={scope}
                onSet={(key, value) => {
                  setError(null);
                  return api.post(`/api/devices/${encodeURIComponent(deviceId)}/attributes/${scope}`, { [key]: value }).then(() => undefined, fail);
                }}
              />
            )}
          </section>
        );
      })}
    </div>
  );
}

function SetAttribute({ scope, onSet }: { scope: AttributeScope; onSet: (key: string, value: unknown) => Promise<void> }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    void onSet(key.trim(), parseValue(value)).then(() => {
      setKey('');
      setValue('');
    });
  };
  return (
    <form className="inline" onSubmit={submit}>
      <input
        aria-label={`New ${scope} attribute key`}
        placeholder="key"
        required
        maxLength={128}
        value={key}
        onChange={(e) => {
          setKey(e.target.value);
        }}
      />
      <input
        aria-label={`New ${scope} attribute value`}
        placeholder="value"
        title='JSON (21, true, {"a":1}) or text'
        required
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
        }}
      />
      <button type="submit">Set</button>
    </form>
  );
}
