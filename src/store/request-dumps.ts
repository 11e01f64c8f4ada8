// How an attempt's request dump is stored without a second copy of its payload (migrations/0012): the
// dump up to the payload in `request`, what follows it in `request_tail`, and in `request_payload`
// how the message's data renders the part in between. Read back, the dump is exactly what was sent.
import { sql, type IdentifierSqlToken } from 'slonik';

export type PayloadForm = 'base64' | 'utf8';

export interface StoredRequest {
  request: string;
  request_tail: string;
  /** null: `request` is the whole dump. */
  request_payload: PayloadForm | null;
}

/** Smaller payloads are kept in the dump: a reference would save little. */
const smallestReferenced = 64;

// BOM kept, so the text is what PostgreSQL's convert_from gives for the same bytes.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The texts a payload (the message's data, base64) may appear as in a dump, each with its form. */
function* payloadForms(dataBase64: string): Generator<[PayloadForm, string]> {
  yield ['base64', dataBase64];
  const bytes = Buffer.from(dataBase64, 'base64');
  // Only canonical base64 is decoded by PostgreSQL exactly as Node decodes it.
  if (bytes.toString('base64') !== dataBase64) return;
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return; // not UTF-8: the dump shows it with replacement characters, which the data cannot rebuild
  }
  if (!text.includes('\0')) yield ['utf8', text];
}

/** The dump as stored: the payload left out where the message's data renders it exactly, else whole. */
export function storedRequest(dump: string, dataBase64: string): StoredRequest {
  if (dataBase64.length >= smallestReferenced) {
    for (const [form, text] of payloadForms(dataBase64)) {
      const at = dump.lastIndexOf(text);
      if (at >= 0) return { request: dump.slice(0, at), request_tail: dump.slice(at + text.length), request_payload: form };
    }
  }
  return { request: dump, request_tail: '', request_payload: null };
}

/** The whole dump of the attempt row `attempt`, the payload rendered from its message's data. */
export function requestDump(attempt: IdentifierSqlToken) {
  const column = (name: string) => sql.identifier([...attempt.names, name]);
  return sql.fragment`case when ${column('request_payload')} is null then ${column('request')}
    else ${column('request')} || coalesce((
      select case ${column('request_payload')} when 'base64' then m.data else convert_from(decode(m.data, 'base64'), 'UTF8') end
      from deliveries d join messages m on m.id = d.message_id where d.id = ${column('delivery_id')}
    ), '') || ${column('request_tail')} end`;
}
