// hammer's dashboard: Overview, Topics, Subscriptions and Deliveries over the REST API, through the
// generated @hammer/client. Hash routes (#/deliveries?status=failed) so every view has a link and
// the server only serves three static files.
import { render, type ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { createClient, HammerError, storedKey, storeKey } from './api.ts';
import { ApiContext, href, useRoute } from './ui.tsx';
import { Overview } from './overview.tsx';
import { Topics } from './topics.tsx';
import { SubscriptionPage, Subscriptions } from './subscriptions.tsx';
import { Deliveries, DeliveryPage } from './deliveries.tsx';
import './style.css';

// ---------------------------------------------------------------------------------------------
// The frame: navigation, the API key prompt, the current view.

function KeyPrompt({ current, save, cancel }: { current: string | undefined; save: (key: string | undefined) => void; cancel?: () => void }) {
  const [key, setKey] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="panel key"
      aria-label="Enter an API key"
      onSubmit={(e) => {
        e.preventDefault();
        save(key.trim() || undefined);
      }}
    >
      <h2>This hammer needs an API key</h2>
      <p>
        {current ? 'The key of this tab was refused. ' : ''}Enter an API key (<code>hmk_…</code>, from <code>hammer keys create</code>). It is kept for this
        tab only (sessionStorage) and sent as <code>Authorization: Bearer</code> with each call; what you can see and do is what its scope allows.
      </p>
      <div class="row">
        <div class="field">
          <label for="api-key">API key</label>
          <input id="api-key" name="api_key" type="password" autocomplete="off" ref={input} value={key} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <button type="submit">Use this key</button>
        {cancel && (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function App() {
  const [apiKey, setApiKey] = useState(storedKey);
  const [askKey, setAskKey] = useState(false);
  const client = useMemo(() => createClient(apiKey), [apiKey]);
  const failed = useCallback((error: unknown) => {
    if (error instanceof HammerError && error.status === 401) setAskKey(true);
  }, []);
  const api = useMemo(() => ({ client, failed }), [client, failed]);
  const route = useRoute();
  const [section = '', id] = route.path;
  const view = (() => {
    if (section === 'topics') return <Topics query={route.query} />;
    if (section === 'subscriptions') return id ? <SubscriptionPage id={id} /> : <Subscriptions query={route.query} />;
    if (section === 'deliveries') return id ? <DeliveryPage id={id} /> : <Deliveries query={route.query} />;
    return <Overview />;
  })();
  const nav: [string, string][] = [
    ['', 'Overview'],
    ['topics', 'Topics'],
    ['subscriptions', 'Subscriptions'],
    ['deliveries', 'Deliveries'],
  ];
  return (
    <ApiContext.Provider value={api}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">hammer</span>
        <nav aria-label="Sections">
          {nav.map(([path, label]) => (
            <a key={path} href={href(path)} aria-current={section === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button type="button" class="key-button" onClick={() => setAskKey(true)}>
          {apiKey ? 'API key set' : 'API key'}
        </button>
        {apiKey && (
          <button type="button" class="key-button" onClick={() => (storeKey(undefined), setApiKey(undefined))}>
            Forget key
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {askKey && (
          <KeyPrompt
            current={apiKey}
            cancel={() => setAskKey(false)}
            save={(key) => {
              storeKey(key);
              setApiKey(key);
              setAskKey(false);
            }}
          />
        )}
        <Page key={`${section}/${id ?? ''}/${apiKey ?? ''}`}>{view}</Page>
      </main>
    </ApiContext.Provider>
  );
}

const Page = ({ children }: { children: ComponentChildren }) => <>{children}</>;

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading" placeholder: Preact renders next to what is there
render(<App />, root);

