/**
 * Password hashing with scrypt (memory-hard), one random salt per password.
 * A hash is stored with its parameters, so they can be raised later without
 * invalidating existing hashes:
 *
 *   scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<key, base64url>
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  log2N: number;
  /** Block size. */
  r: number;
  /** Parallelization. */
  p: number;
}

/** The parameters new hashes are made with: N = 2^15, r = 8, p = 1 (32 MiB per hash). */
export const CURRENT_PARAMS: ScryptParams = { log2N: 15, r: 8, p: 1 };
export const SALT_BYTES = 16;
export const KEY_BYTES = 64;
/** Upper bound on the memory one derivation may use (node's default of 32 MiB is too tight for N = 2^15, r = 8). */
const MAX_MEMORY = 64 * 1024 * 1024;
const PREFIX = 'scrypt';

/** scrypt on the libuv thread pool, promisified (util.promisify cannot pick the overload with options). */
function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Passwords are compared in Unicode NFC, so the same characters typed on different systems match. */
function derive(password: string, salt: Buffer, keyLength: number, { log2N, r, p }: ScryptParams): Promise<Buffer> {
  return scryptAsync(password.normalize('NFC'), salt, keyLength, { N: 2 ** log2N, r, p, maxmem: MAX_MEMORY });
}

/** Hashes `password` with a fresh random salt and the current parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, CURRENT_PARAMS);
  const { log2N, r, p } = CURRENT_PARAMS;
  return [PREFIX, log2N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

const INTEGER = /^[0-9]{1,3}$/;

/** @throws Error for a stored value that is not a hash made here: a server-side fault, not a wrong password. */
function parseHash(encoded: string): ParsedHash {
  const parts = encoded.split('$');
  const [prefix, log2N, r, p, salt, key] = parts;
  if (
    parts.length !== 6 ||
    prefix !== PREFIX ||
    log2N === undefined ||
    r === undefined ||
    p === undefined ||
    !INTEGER.test(log2N) ||
    !INTEGER.test(r) ||
    !INTEGER.test(p) ||
    !salt ||
    !key
  ) {
    throw new Error('malformed password hash');
  }
  const params = { log2N: Number(log2N), r: Number(r), p: Number(p) };
  if (params.log2N < 1 || params.log2N > 30 || params.r < 1 || params.p < 1) throw new Error('malformed password hash');
  const keyBytes = Buffer.from(key, 'base64url');
  if (keyBytes.length < 16) throw new Error('malformed password hash');
  return { params, salt: Buffer.from(salt, 'base64url'), key: keyBytes };
}

/**
 * Whether `password` matches `encoded`, compared in constant time.
 * @throws Error when `encoded` is not a hash made by {@link hashPassword}.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const { params, salt, key } = parseHash(encoded);
  const candidate = await derive(password, salt, key.length, params);
  return timingSafeEqual(candidate, key);
}
