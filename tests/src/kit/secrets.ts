/**
 * The secrets every process of a test deployment shares, made fresh for each
 * test run (the repository holds no usable secret).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** The access-token signing key, the gateway's internal-identity key and the password pepper. */
export const TEST_SECRETS: Readonly<Record<string, string>> = (() => {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return {
    JWT_PRIVATE_KEYS: JSON.stringify({
      keys: [{ ...jwk, kid: `test-${randomBytes(4).toString('hex')}`, alg: 'EdDSA' }],
    }),
    INTERNAL_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    PASSWORD_PEPPER: randomBytes(32).toString('base64url'),
  };
})();
