// @hammer/client/grpc: a nice-grpc client for hammer's gRPC API, with the generated message types.
import { createChannel, createClient, Metadata, type Channel, type ChannelCredentials, type ChannelOptions, type Client } from 'nice-grpc';
import { HammerDefinition } from './generated/proto/hammer/v1/hammer.ts';

export * from './generated/proto/hammer/v1/hammer.ts';
export { Empty } from './generated/proto/google/protobuf/empty.ts';
export { ClientError, Status } from 'nice-grpc';

export interface HammerGrpcClientOptions {
  /** An API key (`hmk_...`), sent as the metadata `authorization: Bearer <key>` with every call. */
  apiKey?: string;
  /** TLS or other credentials; an `https://` address alone already means TLS. */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

/** The hammer.v1.Hammer RPCs (createTopic, listDeliveries...), plus the channel they share. */
export type HammerGrpcClient = Client<HammerDefinition> & {
  readonly channel: Channel;
  /** Closes the channel. */
  close(): void;
};

/** A client of hammer's gRPC API at `address` (`localhost:50051`, `https://hammer.example.com`). Failed calls reject with ClientError. */
export function createHammerGrpcClient(address: string, options: HammerGrpcClientOptions = {}): HammerGrpcClient {
  const channel = createChannel(address, options.credentials, options.channelOptions);
  const defaults = options.apiKey === undefined ? {} : { '*': { metadata: Metadata({ authorization: `Bearer ${options.apiKey}` }) } };
  return Object.assign(createClient(HammerDefinition, channel, defaults), { channel, close: () => channel.close() });
}
