import { useEffect, useState } from 'react';
import { api, type StoredSession } from './api';
import { live } from './live';
import { href, useRoute } from './route';
import { DevicePage } from './screens/device';
import { Devices } from './screens/devices';
import { SignIn } from './screens/sign-in';

export function App() {
  const [session, setSession] = useState<StoredSession | null>(api.current);
  useEffect(() => api.onSession(setSession), []);
  if (!session) return <SignIn />;
  return <Shell session={session} />;
}

function Shell({ session }: { session: StoredSession }) {
  const route = useRoute();
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href({ screen: 'devices' })}>
          Thingstead
        </a>
        <nav aria-label="Main">
          <a href={href({ screen: 'devices' })} aria-current="page">
            Devices
          </a>
        </nav>
        <span className="spacer" />
        <span className="muted" title={session.user.role}>
          {session.user.email}
        </span>
        <button
          type="button"
          className="ghost"
          onClick={() => {
            live.reset();
            api.signOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main className="content">{route.screen === 'device' ? <DevicePage id={route.id} /> : <Devices />}</main>
    </div>
  );
}
