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
