/**
 * Prints a fresh set of the secrets a deployment needs, as environment
 * assignments: the access-token signing key (a JWK set with one Ed25519 key),
 * the gateway's internal-identity key and the password pepper.
 *
 *   node --import tsx scripts/generate-secrets.ts > secrets.env
 *
 * For a key rotation, add the printed key to the existing JWT_PRIVATE_KEYS
 * set (docs/SECURITY.md#access-tokens-and-sessions).
 */
import { generateSecrets } from '@chat/common';

for (const [name, value] of Object.entries(generateSecrets())) process.stdout.write(`${name}='${value}'\n`);
