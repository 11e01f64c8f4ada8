// The webhook both HTTP baselines POST: a CloudEvent-like JSON body of the size hammer sends for the
// benchmark's messages, with hammer's headers.
const body = JSON.stringify({
  specversion: '1.0',
  type: 'hammer.message.created',
  source: '/v1/messages/01F12GF6VAXGNHVXM4YT37N75A',
  id: '01F12GF6VM4YSX5GW8TM4781EZ',
  time: '2021-03-18T11:10:29.748Z',
  secrettoken: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  messageid: '01F12GF6VAXGNHVXM4YT37N75A',
  subscriptionid: 'sub',
  topicid: 'topic',
  datacontenttype: 'application/json',
  data_base64: Buffer.from('x'.repeat(560)).toString('base64'),
});
const headers: Record<string, string> = {
  'Content-Type': 'application/json',
  'User-Agent': 'hammer-bench',
  'Webhook-Id': '01F12GF6VM4YSX5GW8TM4781EZ',
  'Webhook-Timestamp': '1616065829',
  'Webhook-Signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
};

export const sampleWebhook = { body, headers };
