// Messages: publish (the message, its deliveries and their jobs in one transaction), batch publish,
// idempotency keys, get, list, delete. Concurrent single publishes to a topic share statements.
import { createHash } from 'node:crypto';
import { createBatcher } from '../batcher.ts';
import { currentAbortSignal, withoutAbortSignal } from '../call-signal.ts';
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import * as store from '../store/messages.ts';
import { claimIdempotencyKey, messagesOfClaim } from '../store/idempotency-keys.ts';
import type { Db } from '../store/table.ts';
import { newId } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { failedPrecondition, invalid, notFound, type FieldViolation } from '../errors.ts';
import { violations, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];

const message = resource('message');

/** Options of a publish: the Idempotency-Key header (gRPC metadata idempotency-key), when sent. */
export interface PublishOptions {
  idempotencyKey?: string | undefined;
}

/** The field violations name the header, over gRPC too. */
const keyField = 'Idempotency-Key';

/** HAMMER_IDEMPOTENCY_TTL's default: 24 hours. */
export const defaultIdempotencyTtlSeconds = 86400;

type StoredMessage = Schemas['Message'];

/**
 * How single publishes are grouped: a group is published once it holds 100 messages, or 1 ms after
 * its first arrived (what one waits at most, and all a lone publish pays for it).
 */
export const publishGroupOptions = { maxSize: 100, maxWaitMs: 1 };

/** A single publish waiting for its group; `signal`: its caller's (a gRPC deadline), if any. */
interface GroupedPublish {
  message: store.NewMessage;
  signal: AbortSignal | undefined;
}

/** Each grouped publish's own outcome: its message, or its error. */
type Outcome = { message: StoredMessage } | { error: unknown };

/** sha256 of the canonical request: what makes "the same request" for an idempotency key. */
function fingerprint(kind: 'message' | 'batch', topicId: string, items: readonly { content_type: string; data: string }[]): string {
  const canonical = JSON.stringify([kind, topicId, items.map((item) => [item.content_type, item.data])]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function messageService({
  pool,
  pagination,
  onMessagePublished,
  idempotencyTtlSeconds = defaultIdempotencyTtlSeconds,
  publishGrouping = true,
}: ServiceContext) {
  /**
   * Publishes a group of single publishes: one statement per topic (hammer_publish_messages takes
   * arrays), the topics' statements side by side, so a missing topic fails its own callers only.
   * A caller that gave up while waiting (its signal aborted) is left out. The group runs under no
   * caller's signal: one caller's deadline must not cancel the others' statement.
   */
  async function publishGroup(group: GroupedPublish[]): Promise<Outcome[]> {
    const outcomes = new Map<GroupedPublish, Outcome>();
    const live = group.filter((one) => {
      if (one.signal?.aborted) outcomes.set(one, { error: one.signal.reason });
      return !one.signal?.aborted;
    });
    await Promise.all(
      [...Map.groupBy(live, (one) => one.message.topic_id)].map(async ([topicId, ones]) => {
        try {
          const published = await store.publishMessageGroup(pool, topicId, ones.map((one) => one.message));
          ones.forEach((one, i) => outcomes.set(one, { message: published[i]!.message }));
        } catch (error) {
          for (const one of ones) outcomes.set(one, { error });
        }
      }),
    );
    return group.map((one) => outcomes.get(one)!);
  }
  const grouped = createBatcher((group: GroupedPublish[]) => withoutAbortSignal(() => publishGroup(group)), publishGroupOptions);

  /** A single publish without a key: in a shared statement (or its own, with grouping off). */
  async function publishSingle(message: store.NewMessage): Promise<StoredMessage> {
    if (!publishGrouping) return (await store.publishMessage(pool, message)).message;
    const outcome = await grouped({ message, signal: currentAbortSignal() });
    if ('error' in outcome) throw outcome.error;
    return outcome.message;
  }

  /** The key, checked against the contract's IdempotencyKey rules (a 400 naming the header). */
  function checkedKey(key: string | undefined): FieldViolation[] {
    return key === undefined ? [] : violations(rules.IdempotencyKey, { [keyField]: key });
  }

  /**
   * Runs `publish` (ids made up front), or with a key: claims the key in the same transaction first,
   * and answers an earlier claim's messages instead when the request is the same (409 when not).
   */
  async function publishOnce(
    topicId: string,
    key: string | undefined,
    print: () => string,
    ids: readonly string[],
    publish: (db: Db) => Promise<readonly StoredMessage[]>,
  ): Promise<readonly StoredMessage[]> {
    if (key === undefined) {
      const published = await publish(pool);
      for (const one of published) onMessagePublished?.(one);
      return published;
    }
    const outcome = await pool.transaction(async (tx) => {
      const earlier = await claimIdempotencyKey(tx, { topicId, key, fingerprint: print(), messageIds: ids, ttlSeconds: idempotencyTtlSeconds });
      if (!earlier) return { published: await publish(tx), replayed: false };
      if (earlier.fingerprint !== print()) {
        throw failedPrecondition('idempotency_key_reused', [{ field: keyField, description: 'was used with another request to this topic' }]);
      }
      return { published: await messagesOfClaim(tx, earlier.message_ids), replayed: true, expected: earlier.message_ids.length };
    });
    if (outcome.replayed) {
      if (outcome.published.length !== outcome.expected) throw notFound('message_does_not_exists');
    } else for (const one of outcome.published) onMessagePublished?.(one);
    return outcome.published;
  }

  return {
    /** Publishes: `data` is text and is stored base64-encoded, as hammer does. */
    async create(input: Unchecked<Schemas['MessageCreate']>, options: PublishOptions = {}): Promise<Schemas['Message']> {
      const key = options.idempotencyKey;
      const found = [...violations(rules.MessageCreate, input as Record<string, unknown>), ...checkedKey(key)];
      if (found.length > 0) throw invalid('invalid_message', found);
      const { topic_id, content_type, data } = input as Schemas['MessageCreate'];
      const stored = { id: newId(), topic_id, content_type, data: Buffer.from(data, 'utf8').toString('base64') };
      // Without a key, in a statement shared with concurrent publishes; with one, in the key's transaction.
      const [published] = await publishOnce(topic_id, key, () => fingerprint('message', topic_id, [{ content_type, data }]), [stored.id], async (db) => [
        key === undefined ? await publishSingle(stored) : (await store.publishMessage(db, stored)).message,
      ]);
      return published!;
    },
    /**
     * Publishes a batch to the topic `topicId`, all or nothing, in one statement. Every item follows
     * the contract's MessageItem rules; a violation is named after its item (`messages[3].data`) and
     * fails the whole batch. Answers the messages in the order sent.
     */
    async publishBatch(
      topicId: string,
      input: Unchecked<Schemas['PublishMessagesRequest']> | undefined,
      options: PublishOptions = {},
    ): Promise<Schemas['PublishMessagesResponse']> {
      const key = options.idempotencyKey;
      const found: FieldViolation[] = [...violations(rules.Id, { id: topicId }), ...checkedKey(key)];
      const batchViolations = violations(rules.MessageBatch, input ?? {});
      found.push(...batchViolations);
      const items = batchViolations.length === 0 ? (input!.messages as unknown[]) : [];
      items.forEach((item, index) => {
        const where = `messages[${index}]`;
        if (item === null || typeof item !== 'object' || Array.isArray(item)) found.push({ field: where, description: 'must be an object' });
        else for (const v of violations(rules.MessageItem, item as Record<string, unknown>)) found.push({ field: `${where}.${v.field}`, description: v.description });
      });
      if (found.length > 0) throw invalid('invalid_message', found);
      const checked = items as Schemas['MessageItem'][];
      const batch = checked.map(({ content_type, data }) => ({
        id: newId(),
        content_type,
        data: Buffer.from(data, 'utf8').toString('base64'),
      }));
      const published = await publishOnce(
        topicId,
        key,
        () => fingerprint('batch', topicId, checked),
        batch.map((m) => m.id),
        (db) => store.publishMessages(db, topicId, batch),
      );
      return { messages: [...published] };
    },
    get: (id: string): Promise<Schemas['Message']> => message.get(id, (id) => store.getMessage(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListMessagesResponse']> {
      return { messages: [...(await store.listMessages(pool, listQuery(input, pagination, rules.listMessages)))] };
    },
    delete: (id: string): Promise<void> => message.delete(id, (id) => store.deleteMessage(pool, id)),
    /** Erases the message's payload (and its copies in attempt dumps); its pending deliveries fail. */
    expungeContent: (id: string): Promise<Schemas['Message']> => message.get(id, (id) => store.expungeMessageContent(pool, id)),
  };
}
