import type { Device } from '@thingstead/contract';
import { useState } from 'react';

/** Ready-to-paste lines that send a device's first value: mosquitto_pub, curl, Python (paho-mqtt). */
export function examplesFor(token: string, host = location.hostname, httpOrigin = location.origin): { label: string; text: string }[] {
  return [
    {
      label: 'mosquitto_pub (MQTT port 1883 unless you changed THINGSTEAD_MQTT_PORT)',
      text: `mosquitto_pub -h ${host} -p 1883 -u '${token}' -t v1/devices/me/telemetry -q 1 -m '{"temperature":21.5}'`,
    },
    { label: 'curl (HTTP device API)', text: `curl -s ${httpOrigin}/api/v1/${token}/telemetry -H 'content-type: application/json' -d '{"temperature":21.5}'` },
    {
      label: 'Python (paho-mqtt)',
      text: [
        'import json, paho.mqtt.client as mqtt',
        'c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)',
        `c.username_pw_set('${token}')`,
        `c.connect('${host}', 1883)`,
        'c.loop_start()',
        "c.publish('v1/devices/me/telemetry', json.dumps({'temperature': 21.5}), qos=1).wait_for_publish()",
        'c.loop_stop()',
      ].join('\n'),
    },
  ];
}

export function DeviceExamples({ device, token, onClose }: { device: Device; token: string; onClose?: () => void }) {
  return (
    <div className="card examples" role="region" aria-label={`Connect ${device.name}`}>
      <div className="toolbar">
        <h2>Connect {device.name}</h2>
        <span className="spacer" />
        {onClose && (
          <button type="button" className="ghost" onClick={onClose}>
            Close
          </button>
        )}
      </div>
      <p>
        Access token: <code data-testid="device-token">{token}</code> <Copy text={token} />
      </p>
      {examplesFor(token).map((e) => (
        <div key={e.label} className="example">
          <div className="toolbar">
            <span className="muted">{e.label}</span>
            <span className="spacer" />
            <Copy text={e.text} />
          </div>
          <pre>{e.text}</pre>
        </div>
      ))}
    </div>
  );
}

function Copy({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="ghost small"
      onClick={() => {
        navigator.clipboard.writeText(text).then(
          () => {
            setDone(true);
            setTimeout(() => {
              setDone(false);
            }, 1500);
          },
          () => undefined,
        );
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}
