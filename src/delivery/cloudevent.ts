// The body hammer POSTs to a subscriber: a CloudEvents 1.0 JSON event, byte for byte as hammer's Go
// encoder writes it (same keys, same order, compact, Go's HTML-safe escaping). A subscription with
// include_secret_in_body false gets the same event without its `secrettoken` key.
import type { components } from '../generated/openapi.ts';

type Delivery = components['schemas']['Delivery'];

export type CloudEventSource = Pick<
  Delivery,
  'id' | 'message_id' | 'subscription_id' | 'topic_id' | 'content_type' | 'data' | 'secret_token' | 'created_at'
> & {
  /** false: no `secrettoken` key; absent means true (hammer's format). */
  include_secret_in_body?: boolean;
};

// Go's encoding/json escapes these even though JSON does not require it; JSON.stringify already
// matches Go for everything else (\b \f \n \r \t, other control characters as lowercase \u00xx).
const goEscapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};
const goEscaped = /[<>&\u2028\u2029]/g;

// Go writes invalid UTF-8 as U+FFFD; a lone surrogate is the JavaScript equivalent.
const text = (value: string) => value.toWellFormed();

/**
 * The JSON text of the CloudEvent for one delivery attempt (`time` is the delivery's created_at as
 * stored). `secrettoken` is `secretToken`: the engine passes the subscription's current secret.
 */
export function buildCloudEvent(delivery: CloudEventSource, secretToken: string = delivery.secret_token): string {
  const json = JSON.stringify({
    specversion: '1.0',
    type: 'hammer.message.created',
    source: `/v1/messages/${text(delivery.message_id)}`,
    id: text(delivery.id),
    time: text(delivery.created_at),
    // JSON.stringify leaves out an undefined value; the other keys keep their order.
    secrettoken: delivery.include_secret_in_body === false ? undefined : text(secretToken),
    messageid: text(delivery.message_id),
    subscriptionid: text(delivery.subscription_id),
    topicid: text(delivery.topic_id),
    datacontenttype: text(delivery.content_type),
    data_base64: text(delivery.data),
  });
  // Keys never contain these characters, so escaping the whole text only touches string values.
  return json.replace(goEscaped, (c) => goEscapes[c]!);
}

/** How a subscription's webhooks carry the CloudEvent (its `content_mode`). */
export type ContentMode = 'hammer' | 'structured' | 'binary';

/** What a content mode decides of a webhook request: its body and its own headers (Go's canonical names). */
export interface WebhookContent {
  headers: [string, string][];
  /** Binary mode sends the message's bytes as they are; the other modes JSON text. */
  body: string | Buffer;
}

/** `application/json` or any `+json` type, parameters (charset) allowed. */
const jsonContentType = /^(?:application\/json|[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]*\+json)\s*(?:;|$)/i;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The message's data as JSON text when its content type is JSON and the bytes are valid UTF-8 JSON. */
function jsonData(delivery: CloudEventSource): string | undefined {
  if (!jsonContentType.test(delivery.content_type)) return undefined;
  try {
    const text = strictUtf8.decode(Buffer.from(delivery.data, 'base64'));
    JSON.parse(text);
    // Sent as written, not re-encoded: big numbers, key order and spacing inside stay the sender's.
    return text.trim();
  } catch {
    return undefined;
  }
}

/**
 * The structured-mode body (`application/cloudevents+json`): hammer's attributes in hammer's order,
 * `secrettoken` under the same rule, and the data as JSON in `data` when it is JSON, else `data_base64`.
 */
export function buildStructuredEvent(delivery: CloudEventSource, secretToken: string = delivery.secret_token): string {
  const data = jsonData(delivery);
  const json = JSON.stringify({
    specversion: '1.0',
    type: 'hammer.message.created',
    source: `/v1/messages/${text(delivery.message_id)}`,
    id: text(delivery.id),
    time: text(delivery.created_at),
    secrettoken: delivery.include_secret_in_body === false ? undefined : text(secretToken),
    messageid: text(delivery.message_id),
    subscriptionid: text(delivery.subscription_id),
    topicid: text(delivery.topic_id),
    datacontenttype: text(delivery.content_type),
    data_base64: data === undefined ? text(delivery.data) : undefined,
  });
  // The data is already JSON text: spliced in as the last member.
  return data === undefined ? json : `${json.slice(0, -1)},"data":${data}}`;
}

/** Visible ASCII and tabs: what a header value may hold. */
const headerSafe = /^[\t\x20-\x7e]+$/;

/**
 * The binary-mode headers: the message's content type, and the attributes as `ce-` headers (never
 * the secret). Ids are `[\w.+-]` and times RFC 3339, so no value needs the binding's percent-encoding.
 */
export function binaryHeaders(delivery: CloudEventSource): [string, string][] {
  return [
    // A content type no header can carry (the API allows any text) is sent as what it then is: bytes.
    ['Content-Type', headerSafe.test(delivery.content_type) ? delivery.content_type : 'application/octet-stream'],
    ['Ce-Id', delivery.id],
    ['Ce-Messageid', delivery.message_id],
    ['Ce-Source', `/v1/messages/${delivery.message_id}`],
    ['Ce-Specversion', '1.0'],
    ['Ce-Subscriptionid', delivery.subscription_id],
    ['Ce-Time', delivery.created_at],
    ['Ce-Topicid', delivery.topic_id],
    ['Ce-Type', 'hammer.message.created'],
  ];
}

/** The body and the mode's own headers of one attempt; `secretToken` is the subscription's current secret. */
export function webhookContent(delivery: CloudEventSource, mode: ContentMode = 'hammer', secretToken: string = delivery.secret_token): WebhookContent {
  switch (mode) {
    case 'structured':
      return { headers: [['Content-Type', 'application/cloudevents+json']], body: buildStructuredEvent(delivery, secretToken) };
    case 'binary':
      return { headers: binaryHeaders(delivery), body: Buffer.from(delivery.data, 'base64') };
    default:
      return { headers: [['Content-Type', 'application/json']], body: buildCloudEvent(delivery, secretToken) };
  }
}
