// Ed25519 keys for Standard Webhooks `v1a` signatures: hammer keeps the private key (`whsk_` and the
// base64 of the 32-byte seed) and shows receivers the public key (`whpk_` and the base64 of its 32
// raw bytes, the Standard Webhooks form).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export const privateKeyPrefix = 'whsk_';
export const publicKeyPrefix = 'whpk_';

/** The PKCS#8 DER prefix of an Ed25519 private key: the 32-byte seed follows it. */
const pkcs8Ed25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SigningKeyPair {
  /** `whsk_…`: kept by hammer, never shown. */
  privateKey: string;
  /** `whpk_…`: for receivers. */
  publicKey: string;
}

/** The private key object of a `whsk_` key. */
export function privateKeyObject(privateKey: string): KeyObject {
  const seed = Buffer.from(privateKey.slice(privateKeyPrefix.length), 'base64');
  return createPrivateKey({ key: Buffer.concat([pkcs8Ed25519, seed]), format: 'der', type: 'pkcs8' });
}

/** The `whpk_` public key of a `whsk_` private key. */
export function publicKeyOf(privateKey: string): string {
  const jwk = createPublicKey(privateKeyObject(privateKey)).export({ format: 'jwk' });
  return `${publicKeyPrefix}${Buffer.from(jwk.x!, 'base64url').toString('base64')}`;
}

/** A fresh key pair. */
export function newSigningKeyPair(): SigningKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const whsk = `${privateKeyPrefix}${seed.toString('base64')}`;
  return { privateKey: whsk, publicKey: publicKeyOf(whsk) };
}
