// The delivery_attempts table (written only together with its delivery: see deliveries.ts).
import { deliveryAttemptRow } from './rows.ts';
import { tableQueries } from './table.ts';

const deliveryAttempts = tableQueries('delivery_attempts', deliveryAttemptRow);

export const getDeliveryAttempt = deliveryAttempts.get;
export const listDeliveryAttempts = deliveryAttempts.list;
