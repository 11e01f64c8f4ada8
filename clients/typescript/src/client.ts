// The REST client: openapi-fetch typed from openapi.yaml, plus one helper per common call that takes
// the resource itself (not hammer's `{"topic": {...}}` envelope) and throws HammerError on failure.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './generated/openapi.ts';
import { HammerError } from './errors.ts';

type Schemas = components['schemas'];
type Id = Schemas['Id'];
type Query<Operation extends keyof operations> = NonNullable<operations[Operation]['parameters']['query']>;

/** The list operation behind each resource `paginate` walks; the key is also the field of the list response. */
interface ListOperations {
  topics: 'listTopics';
  subscriptions: 'listSubscriptions';
  messages: 'listMessages';
  deliveries: 'listDeliveries';
  delivery_attempts: 'listDeliveryAttempts';
}
export type ListResource = keyof ListOperations;
/** The filters of a list: `limit` is the page size, `offset` where to start. */
export type ListQuery<Resource extends ListResource> = Query<ListOperations[Resource]>;
type ListBody<Resource extends ListResource> = operations[ListOperations[Resource]]['responses'][200]['content']['application/json'];
/** One item of a list (Topic for 'topics', DeliveryAttempt for 'delivery_attempts'...). */
export type ListItem<Resource extends ListResource> = ListBody<Resource> extends Record<Resource, (infer Item)[]> ? Item : never;

export interface HammerClientOptions {
  /** Where hammer's REST API listens, for example http://localhost:8000. */
  baseUrl: string;
  /** An API key (`hmk_...`), sent as `Authorization: Bearer <key>` with every request. */
  apiKey?: string;
  /** Sent with every request (headers for a gateway in front of hammer, say). */
  headers?: ClientOptions['headers'];
  /** A fetch to use instead of the global one. */
  fetch?: ClientOptions['fetch'];
  /** Milliseconds each request may take (the whole exchange) before it fails with a TimeoutError; none by default. */
  timeoutMs?: number;
  /**
   * How many times `publish` and `publishBatch` retry a request that failed on the network (a timeout
   * included) or answered 5xx or 429, with the same Idempotency-Key (so the retry never publishes
   * twice). Default 3 (4 tries in all); 0 never retries.
   */
  publishRetries?: number;
  /** The first retry's delay in milliseconds, doubled each time, with jitter (default 200; a 429's Retry-After wins). */
  retryDelayMs?: number;
}

/** Options of one publish. */
export interface PublishOptions {
  /**
   * The Idempotency-Key sent (1 to 255 characters, scoped to the topic): by default a fresh random
   * one per call, reused by its retries. Pass your own to make a publish safe across processes or
   * restarts: the same key and request answer the first messages again.
   */
  idempotencyKey?: string;
}

export interface HammerHelpers {
  createTopic(topic: Schemas['TopicCreate']): Promise<Schemas['Topic']>;
  getTopic(id: Id): Promise<Schemas['Topic']>;
  updateTopic(id: Id, topic: Schemas['TopicUpdate']): Promise<Schemas['Topic']>;
  /** Deletes the topic with its subscriptions, messages, deliveries and delivery attempts. */
  deleteTopic(id: Id): Promise<void>;
  /** One page of topics, oldest first; `paginate('topics')` walks them all. */
  listTopics(query?: ListQuery<'topics'>): Promise<Schemas['Topic'][]>;

  createSubscription(subscription: Schemas['SubscriptionCreate']): Promise<Schemas['Subscription']>;
  getSubscription(id: Id): Promise<Schemas['Subscription']>;
  /** Changes the fields given and keeps the others. */
  updateSubscription(id: Id, subscription: Schemas['SubscriptionUpdate']): Promise<Schemas['Subscription']>;
  deleteSubscription(id: Id): Promise<void>;
  listSubscriptions(query?: ListQuery<'subscriptions'>): Promise<Schemas['Subscription'][]>;
  /**
   * A new secret (`secret_token`, or a generated one); the replaced secret keeps signing, as a second
   * signature, for `grace_period` seconds (default 86400, 0 for none). Answers the subscription.
   */
  rotateSubscriptionSecret(id: Id, rotation?: Schemas['SecretRotation']): Promise<Schemas['Subscription']>;
  /**
   * Gives every failed delivery of the subscription created in [since, until) (until: now when absent)
   * a fresh retry series with the subscription's current url, secret and retry settings (admin scope).
   * Answers how many were recovered.
   */
  recoverSubscription(id: Id, recovery: Schemas['RecoveryWindow']): Promise<Schemas['RecoverSubscriptionResponse']>;
  /**
   * Creates the deliveries (and queues them) of the messages of the subscription's topic published since
   * `since` that the subscription has none for (admin scope). Answers how many.
   */
  replaySubscription(id: Id, replay: Schemas['ReplayWindow']): Promise<Schemas['ReplaySubscriptionResponse']>;

  /**
   * Creates a message: one delivery per subscription of its topic. `data` is text; it comes back
   * base64-encoded. Sends an Idempotency-Key (fresh, unless given) and retries network failures, 5xx
   * and 429 with it (`publishRetries`), so a retry never publishes twice.
   */
  publish(message: Schemas['MessageCreate'], options?: PublishOptions): Promise<Schemas['Message']>;
  /**
   * Publishes 1 to 1,000 messages to the topic, all or nothing (one bad item: a HammerError naming
   * `messages[i].field`, and nothing stored). Answers the messages in the order given.
   */
  publishBatch(topicId: Id, messages: Schemas['MessageItem'][], options?: PublishOptions): Promise<Schemas['Message'][]>;
  getMessage(id: Id): Promise<Schemas['Message']>;
  deleteMessage(id: Id): Promise<void>;
  /**
   * Erases the message's payload for good (admin scope): `data` reads as empty, in the message, its
   * deliveries and its attempts' request dumps; pending deliveries fail. Answers the message.
   */
  expungeMessageContent(id: Id): Promise<Schemas['Message']>;
  listMessages(query?: ListQuery<'messages'>): Promise<Schemas['Message'][]>;

  getDelivery(id: Id): Promise<Schemas['Delivery']>;
  listDeliveries(query?: ListQuery<'deliveries'>): Promise<Schemas['Delivery'][]>;
  /**
   * Queues one more attempt of the delivery now (admin scope), whatever its status, outside its retry
   * budget, with the same webhook-id. Answers the delivery as it is when queued; a worker makes the attempt.
   */
  resendDelivery(id: Id): Promise<Schemas['Delivery']>;

  getDeliveryAttempt(id: Id): Promise<Schemas['DeliveryAttempt']>;
  listDeliveryAttempts(query?: ListQuery<'delivery_attempts'>): Promise<Schemas['DeliveryAttempt'][]>;

  /** Creates an API key (admin scope): `key` is the key itself, returned this once. */
  createApiKey(apiKey: Schemas['ApiKeyCreate']): Promise<Schemas['CreateApiKeyResponse']>;
  getApiKey(id: Id): Promise<Schemas['ApiKey']>;
  /** One page of API keys, oldest first, without their secrets. */
  listApiKeys(query?: Query<'listApiKeys'>): Promise<Schemas['ApiKey'][]>;
  /** Revokes the API key; servers refuse it within seconds. */
  revokeApiKey(id: Id): Promise<Schemas['ApiKey']>;

  /**
   * Every item of a list, oldest first, fetched a page at a time (`limit` items, default 50) from
   * `offset` (default 0) until a short page. The other filters apply to every page.
   */
  paginate<Resource extends ListResource>(resource: Resource, query?: ListQuery<Resource>): AsyncGenerator<ListItem<Resource>, void, undefined>;
}

/** openapi-fetch's client for hammer's paths (GET, POST, PATCH, DELETE, use...) and the helpers. */
export type HammerClient = Client<paths> & HammerHelpers;

/** hammer's maximum page size unless HAMMER_MAX_PAGINATION_LIMIT says otherwise. */
const defaultPageSize = 50;

/** The data of a successful openapi-fetch call; a HammerError for any other status. */
async function ok<Data>(pending: Promise<{ data?: Data; error?: unknown; response: Response }>): Promise<Data> {
  const { data, error, response } = await pending;
  if (!response.ok) throw new HammerError(response.status, error);
  return data as Data;
}

/** A response worth retrying: the server failed or asked to slow down. */
const retryable = (status: number) => status >= 500 || status === 429;

/** A fetch whose every request fails with a TimeoutError after `timeoutMs` (and still honours the request's own signal). */
function fetchWithTimeout(fetch: NonNullable<ClientOptions['fetch']>, timeoutMs: number): NonNullable<ClientOptions['fetch']> {
  return (request: Request) => fetch(new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) }));
}

export function createHammerClient(options: HammerClientOptions): HammerClient {
  const { apiKey, timeoutMs, publishRetries = 3, retryDelayMs = 200, ...clientOptions } = options;
  const baseFetch = clientOptions.fetch ?? ((request: Request) => globalThis.fetch(request));
  const client = createClient<paths>({ ...clientOptions, ...(timeoutMs === undefined ? {} : { fetch: fetchWithTimeout(baseFetch, timeoutMs) }) });
  if (apiKey !== undefined) {
    client.use({
      onRequest({ request }) {
        request.headers.set('authorization', `Bearer ${apiKey}`);
        return request;
      },
    });
  }
  const byId = (id: Id) => ({ params: { path: { id } } });

  /**
   * Sends `call(key)` until it answers something other than 5xx or 429, or the retries run out; a
   * network failure (fetch throws) is retried too, and thrown once they have. Every try sends one key.
   */
  async function publishing<Data>(key: string, call: (key: string) => Promise<{ data?: Data; error?: unknown; response: Response }>): Promise<Data> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= publishRetries;
      let result: { data?: Data; error?: unknown; response: Response };
      try {
        result = await call(key);
      } catch (error) {
        if (last) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoff(attempt)));
        continue;
      }
      if (last || !retryable(result.response.status)) return ok(Promise.resolve(result));
      const retryAfter = Number(result.response.headers.get('retry-after'));
      await new Promise((resolve) => setTimeout(resolve, retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : backoff(attempt)));
    }
  }
  const backoff = (attempt: number) => retryDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
  const idempotencyKey = (options?: PublishOptions) => options?.idempotencyKey ?? crypto.randomUUID();

  const lists: { [Resource in ListResource]: (query?: ListQuery<Resource>) => Promise<ListItem<Resource>[]> } = {
    topics: async (query = {}) => (await ok(client.GET('/v1/topics', { params: { query } }))).topics,
    subscriptions: async (query = {}) => (await ok(client.GET('/v1/subscriptions', { params: { query } }))).subscriptions,
    messages: async (query = {}) => (await ok(client.GET('/v1/messages', { params: { query } }))).messages,
    deliveries: async (query = {}) => (await ok(client.GET('/v1/deliveries', { params: { query } }))).deliveries,
    delivery_attempts: async (query = {}) => (await ok(client.GET('/v1/delivery-attempts', { params: { query } }))).delivery_attempts,
  };

  async function* paginate<Resource extends ListResource>(resource: Resource, query?: ListQuery<Resource>): AsyncGenerator<ListItem<Resource>, void, undefined> {
    const list: (query?: ListQuery<Resource>) => Promise<ListItem<Resource>[]> = lists[resource];
    const limit = query?.limit || defaultPageSize;
    let offset = query?.offset ?? 0;
    // hammer clamps a limit above its maximum, so the first page may be short only because of that:
    // its length then becomes the full page size, and one more request tells.
    let fullPage = limit;
    let confirmed = false;
    for (;;) {
      const page = await list({ ...query, limit, offset });
      yield* page;
      offset += page.length;
      if (page.length === 0) return;
      if (page.length < fullPage) {
        if (confirmed) return;
        fullPage = page.length;
      }
      confirmed = true;
    }
  }

  const helpers: HammerHelpers = {
    createTopic: (topic) => ok(client.POST('/v1/topics', { body: { topic } })),
    getTopic: (id) => ok(client.GET('/v1/topics/{id}', byId(id))),
    updateTopic: (id, topic) => ok(client.PATCH('/v1/topics/{id}', { ...byId(id), body: { topic } })),
    deleteTopic: async (id) => void (await ok(client.DELETE('/v1/topics/{id}', byId(id)))),
    listTopics: lists.topics,

    createSubscription: (subscription) => ok(client.POST('/v1/subscriptions', { body: { subscription } })),
    getSubscription: (id) => ok(client.GET('/v1/subscriptions/{id}', byId(id))),
    updateSubscription: (id, subscription) => ok(client.PATCH('/v1/subscriptions/{id}', { ...byId(id), body: { subscription } })),
    deleteSubscription: async (id) => void (await ok(client.DELETE('/v1/subscriptions/{id}', byId(id)))),
    listSubscriptions: lists.subscriptions,
    rotateSubscriptionSecret: (id, rotation = {}) => ok(client.POST('/v1/subscriptions/{id}/rotate-secret', { ...byId(id), body: { rotation } })),
    recoverSubscription: (id, recovery) => ok(client.POST('/v1/subscriptions/{id}/recover', { ...byId(id), body: { recovery } })),
    replaySubscription: (id, replay) => ok(client.POST('/v1/subscriptions/{id}/replay', { ...byId(id), body: { replay } })),

    publish: (message, options) =>
      publishing(idempotencyKey(options), (key) => client.POST('/v1/messages', { params: { header: { 'Idempotency-Key': key } }, body: { message } })),
    publishBatch: async (topicId, messages, options) =>
      (
        await publishing(idempotencyKey(options), (key) =>
          client.POST('/v1/topics/{id}/messages', { params: { path: { id: topicId }, header: { 'Idempotency-Key': key } }, body: { messages } }),
        )
      ).messages,
    getMessage: (id) => ok(client.GET('/v1/messages/{id}', byId(id))),
    deleteMessage: async (id) => void (await ok(client.DELETE('/v1/messages/{id}', byId(id)))),
    expungeMessageContent: (id) => ok(client.DELETE('/v1/messages/{id}/content', byId(id))),
    listMessages: lists.messages,

    getDelivery: (id) => ok(client.GET('/v1/deliveries/{id}', byId(id))),
    listDeliveries: lists.deliveries,
    resendDelivery: (id) => ok(client.POST('/v1/deliveries/{id}/resend', byId(id))),

    getDeliveryAttempt: (id) => ok(client.GET('/v1/delivery-attempts/{id}', byId(id))),
    listDeliveryAttempts: lists.delivery_attempts,

    createApiKey: (api_key) => ok(client.POST('/v1/api-keys', { body: { api_key } })),
    getApiKey: (id) => ok(client.GET('/v1/api-keys/{id}', byId(id))),
    listApiKeys: async (query = {}) => (await ok(client.GET('/v1/api-keys', { params: { query } }))).api_keys,
    revokeApiKey: (id) => ok(client.DELETE('/v1/api-keys/{id}', byId(id))),

    paginate,
  };
  return Object.assign(client, helpers);
}
