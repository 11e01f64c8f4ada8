// The delivery_attempts table (written only together with its delivery: see deliveries.ts). The
// request dump is read back whole, its payload from the message (request-dumps.ts).
import { sql } from 'slonik';
import { deliveryAttemptRow } from './rows.ts';
import { requestDump } from './request-dumps.ts';
import { tableQueries } from './table.ts';

const deliveryAttempts = tableQueries('delivery_attempts', deliveryAttemptRow, { request: requestDump(sql.identifier(['delivery_attempts'])) });

export const getDeliveryAttempt = deliveryAttempts.get;
export const listDeliveryAttempts = deliveryAttempts.list;
