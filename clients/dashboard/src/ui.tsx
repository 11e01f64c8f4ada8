// The dashboard's plumbing: the API context, hash routes, loading data, forms and the API's errors.
import { createContext, type JSX } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import type { HammerClient } from '../../typescript/src/client.ts';
import { HammerError, violationOf } from './api.ts';

export interface Api {
  client: HammerClient;
  /** Every failed call goes through here: a 401 asks for a key. */
  failed(error: unknown): void;
}
export const ApiContext = createContext<Api>(undefined as unknown as Api);
export const useApi = () => useContext(ApiContext);

export interface Route {
  path: string[];
  query: URLSearchParams;
}
export function readRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}
export function useRoute(): Route {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const changed = () => setRoute(readRoute());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
export function href(path: string, query: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const search = params.toString();
  return `#/${path}${search ? `?${search}` : ''}`;
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}
/** Calls `load` now, when `deps` change, on reload(), and every `everyMs` (without a flash of "loading"). */
export function useLoad<T>(load: (client: HammerClient) => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const { client, failed } = useApi();
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    load(client).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => {
        if (!live) return;
        failed(error);
        setState((previous) => ({ data: previous.data, error, loading: false }));
      },
    );
    return () => void (live = false);
  }, [client, tick, ...deps]);
  useEffect(() => {
    if (!everyMs) return;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** A form action: busy while it runs, its error kept for the form to show. */
export function useAction<Args extends unknown[]>(run: (...args: Args) => Promise<unknown>) {
  const { failed } = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const act = async (...args: Args) => {
    setBusy(true);
    setError(undefined);
    try {
      await run(...args);
      return true;
    } catch (caught) {
      failed(caught);
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { act, busy, error, clear: () => setError(undefined) };
}

/** The API's error as it words it: status, message, and the field violations no field shows. */
export function ApiError({ error, fields = [] }: { error: unknown; fields?: string[] }) {
  if (error === undefined) return null;
  if (error instanceof HammerError) {
    const others = error.violations.filter((v) => !fields.some((f) => v.field === f || v.field.endsWith(`.${f}`)));
    return (
      <div class="error" role="alert">
        <strong>
          {error.status} {error.message}
        </strong>
        {others.length > 0 && (
          <ul>
            {others.map((v) => (
              <li key={v.field}>
                <code>{v.field}</code>: {v.description}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  return (
    <div class="error" role="alert">
      <strong>{error instanceof Error ? `${error.name}: ${error.message}` : String(error)}</strong>
    </div>
  );
}

let fieldIds = 0;
/** A labelled input whose API violation (by field name) is shown under it. */
export function Field(props: {
  label: string;
  name: string;
  error?: unknown;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'url' | 'number';
  required?: boolean;
  placeholder?: string;
  hint?: string;
  multiline?: boolean;
  min?: number;
}) {
  const id = useMemo(() => `field-${++fieldIds}`, []);
  const violation = violationOf(props.error, props.name);
  const common = {
    id,
    name: props.name,
    value: props.value,
    required: props.required,
    placeholder: props.placeholder,
    'aria-invalid': violation ? true : undefined,
    'aria-describedby': violation ? `${id}-error` : undefined,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class={`field${violation ? ' invalid' : ''}`}>
      <label for={id}>{props.label}</label>
      {props.multiline ? <textarea rows={5} {...common} /> : <input {...({ ...common, type: props.type ?? 'text', min: props.min } as unknown as JSX.IntrinsicElements['input'])} />}
      {props.hint && <small>{props.hint}</small>}
      {violation && (
        <small class="violation" id={`${id}-error`}>
          {violation}
        </small>
      )}
    </div>
  );
}

export function Select(props: { label: string; name: string; value: string; options: [string, string][]; onChange: (value: string) => void; error?: unknown }) {
  const id = useMemo(() => `field-${++fieldIds}`, []);
  const violation = violationOf(props.error, props.name);
  return (
    <div class={`field${violation ? ' invalid' : ''}`}>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} value={props.value} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {violation && <small class="violation">{violation}</small>}
    </div>
  );
}

export const Badge = ({ value }: { value: string }) => <span class={`badge badge-${value}`}>{value.replace('_', ' ')}</span>;
export const Time = ({ at }: { at: string | undefined }) => (at ? <time datetime={at} title={at}>{new Date(at).toLocaleString()}</time> : <span>—</span>);

export function age(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** Previous / Next over offset pages; Next is off after a short page. */
export function Pager({ offset, limit, count, go }: { offset: number; limit: number; count: number; go: (offset: number) => void }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => go(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span>{count === 0 ? 'No items' : `Items ${offset + 1}–${offset + count}`}</span>
      <button type="button" disabled={count < limit} onClick={() => go(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}

/** Rows per page of every list. */
export const pageSize = 25;
