// The README's curl examples run as written against a real server: every ```sh block that starts with
// `curl` between the api-examples markers, in order, with only localhost:8000 replaced by the test
// server's address. Each must answer JSON that is not an error; each create must answer the resource.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startTestApi } from '../helpers/rest.ts';
import { assertKeys, assertTimestamp, ok, ulid } from '../helpers/rest-api.ts';

const readmePath = join(import.meta.dirname, '../../README.md');
const openApi = parse(readFileSync(join(import.meta.dirname, '../../openapi.yaml'), 'utf8'));
const markers = { start: '<!-- api-examples:start -->', end: '<!-- api-examples:end -->' };

/** The ```sh blocks starting with `curl` between the markers, in README order. */
function curlExamples(markdown: string): string[] {
  const start = markdown.indexOf(markers.start);
  const end = markdown.indexOf(markers.end, start);
  assert.ok(start >= 0 && end > start, `README.md has no section between ${markers.start} and ${markers.end}`);
  const section = markdown.slice(start + markers.start.length, end);
  return [...section.matchAll(/^```sh[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm)].map((match) => match[1]!).filter((block) => block.trimStart().startsWith('curl'));
}

/** What each create example answers: the contract's schema, and the field of the request body. */
const creates: Record<string, { schema: string; wrapper: string }> = {
  '/v1/topics': { schema: 'Topic', wrapper: 'topic' },
  '/v1/subscriptions': { schema: 'Subscription', wrapper: 'subscription' },
  '/v1/messages': { schema: 'Message', wrapper: 'message' },
};

/** The method, path and JSON body a curl command sends (enough to know which example it is). */
function describeCommand(command: string): { method: string; path: string; body: any } {
  const method = /(?:-X|--request)\s+'?([A-Z]+)/.exec(command)?.[1] ?? (/--data(-raw)?\s/.test(command) ? 'POST' : 'GET');
  const url = /'?(https?:\/\/[^\s']+)'?/.exec(command)?.[1];
  assert.ok(url, `no URL in ${command}`);
  const data = /--data(?:-raw)?\s+'([\s\S]*?)'/.exec(command)?.[1];
  return { method, path: new URL(url).pathname, body: data === undefined ? undefined : JSON.parse(data) };
}

const run = promisify(execFile);

test('the README curl examples run as written and answer what they document', async () => {
  const examples = curlExamples(readFileSync(readmePath, 'utf8'));
  const api = await startTestApi();
  const address = new URL(api.baseUrl).host;
  const created: Record<string, any> = {};

  for (const example of examples) {
    assert.ok(example.includes('localhost:8000'), `the example talks to localhost:8000:\n${example}`);
    const command = example.replaceAll('localhost:8000', address);
    const { stdout } = await run('bash', ['-c', command], { timeout: 10_000 });
    let answer: any;
    assert.doesNotThrow(() => (answer = JSON.parse(stdout)), `the example answers JSON:\n${example}\n${stdout}`);
    assert.equal(typeof answer, 'object', `the example answers a JSON object:\n${example}`);
    assert.ok(!('error' in answer && 'code' in answer), `the example answers an error:\n${example}\n${stdout}`);

    const { method, path, body } = describeCommand(command);
    const create = method === 'POST' ? creates[path] : undefined;
    if (!create) continue;
    const schema = openApi.components.schemas[create.schema];
    assertKeys(answer, schema.required);
    assertTimestamp(answer.created_at);
    const sent = body[create.wrapper];
    if (create.wrapper === 'message') {
      assert.match(answer.id, ulid);
      assert.equal(answer.topic_id, sent.topic_id);
      assert.equal(answer.content_type, sent.content_type);
      assert.equal(answer.data, Buffer.from(sent.data, 'utf8').toString('base64'), 'data comes back base64-encoded');
    } else {
      for (const [field, value] of Object.entries(sent)) assert.deepEqual(answer[field], value, `${create.wrapper}.${field}`);
    }
    created[create.wrapper] = answer;
  }

  assert.deepEqual(Object.keys(created).sort(), ['message', 'subscription', 'topic'], 'the examples create a topic, a subscription and a message');
  // Together they make a working setup: the message has one delivery to the subscription.
  const { deliveries } = ok(await api.call('GET', `/v1/deliveries?message_id=${created.message.id}`));
  assert.deepEqual(deliveries.map((d: { subscription_id: string }) => d.subscription_id), [created.subscription.id]);
});
