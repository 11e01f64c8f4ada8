// The dashboard's Topics: list, search, create, delete, publish a test message.
import { useState } from 'preact/hooks';
import { newIdempotencyKey, type Topic } from './api.ts';
import { ApiError, Field, Pager, Time, href, pageSize, useAction, useApi, useLoad } from './ui.tsx';


export function Topics({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0);
  const topics = useLoad((client) => client.listTopics({ offset, limit: pageSize }), [offset]);
  const [search, setSearch] = useState('');
  const shown = (topics.data ?? []).filter((t) => !search || `${t.id} ${t.name}`.toLowerCase().includes(search.toLowerCase()));
  return (
    <section>
      <h1>Topics</h1>
      <CreateTopic created={topics.reload} />
      <div class="toolbar">
        <Field label="Search this page" name="search" value={search} onInput={setSearch} placeholder="id or name" />
      </div>
      <ApiError error={topics.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((topic) => (
            <TopicRow key={topic.id} topic={topic} changed={topics.reload} />
          ))}
        </tbody>
      </table>
      <Pager offset={offset} limit={pageSize} count={topics.data?.length ?? 0} go={(o) => (location.hash = href('topics', { offset: o }))} />
    </section>
  );
}

export function CreateTopic({ created }: { created: () => void }) {
  const { client } = useApi();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const create = useAction(() => client.createTopic({ id, name }));
  return (
    <form
      class="panel"
      aria-label="Create a topic"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await create.act()) {
          setId('');
          setName('');
          created();
        }
      }}
    >
      <h2>Create a topic</h2>
      <div class="row">
        <Field label="Topic id" name="id" value={id} onInput={setId} error={create.error} placeholder="orders" />
        <Field label="Topic name" name="name" value={name} onInput={setName} error={create.error} placeholder="Orders" />
        <button type="submit" disabled={create.busy}>
          Create topic
        </button>
      </div>
      <ApiError error={create.error} fields={['id', 'name']} />
    </form>
  );
}

export function TopicRow({ topic, changed }: { topic: Topic; changed: () => void }) {
  const { client } = useApi();
  const [publishing, setPublishing] = useState(false);
  const remove = useAction(() => client.deleteTopic(topic.id));
  return (
    <>
      <tr>
        <td>
          <code>{topic.id}</code>
        </td>
        <td>{topic.name}</td>
        <td>
          <Time at={topic.created_at} />
        </td>
        <td class="actions">
          <button type="button" aria-expanded={publishing} onClick={() => setPublishing(!publishing)}>
            Publish test message
          </button>
          <a class="button" href={href('subscriptions', { topic_id: topic.id })}>
            Subscriptions
          </a>
          <a class="button" href={href('deliveries', { topic_id: topic.id })}>
            Deliveries
          </a>
          <button
            type="button"
            class="danger"
            disabled={remove.busy}
            onClick={async () => {
              if (confirm(`Delete topic ${topic.id} with its subscriptions, messages and deliveries?`) && (await remove.act())) changed();
            }}
          >
            Delete
          </button>
          <ApiError error={remove.error} />
        </td>
      </tr>
      {publishing && (
        <tr>
          <td colSpan={4}>
            <PublishForm topic={topic} />
          </td>
        </tr>
      )}
    </>
  );
}

export function PublishForm({ topic }: { topic: Topic }) {
  const { client } = useApi();
  const [contentType, setContentType] = useState('application/json');
  const [data, setData] = useState(JSON.stringify({ hello: 'world', at: new Date().toISOString() }, null, 2));
  const [published, setPublished] = useState<string>();
  const publish = useAction(async () => {
    const message = await client.publish({ topic_id: topic.id, content_type: contentType, data }, { idempotencyKey: newIdempotencyKey() });
    setPublished(message.id);
  });
  return (
    <form
      class="panel"
      aria-label={`Publish a test message to ${topic.id}`}
      onSubmit={(e) => {
        e.preventDefault();
        void publish.act();
      }}
    >
      <Field label="Content type" name="content_type" value={contentType} onInput={setContentType} error={publish.error} />
      <Field label="Data" name="data" value={data} onInput={setData} error={publish.error} multiline />
      <button type="submit" disabled={publish.busy}>
        Publish
      </button>
      <ApiError error={publish.error} fields={['content_type', 'data']} />
      {published && (
        <p class="ok" role="status">
          Published message <code>{published}</code>. <a href={href('deliveries', { message_id: published })}>See its deliveries</a>
        </p>
      )}
    </form>
  );
}
