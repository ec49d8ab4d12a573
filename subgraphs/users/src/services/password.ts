/**
 * Password hashing. New hashes are argon2id (RFC 9106) with a random salt per
 * password and a server-side pepper, the argon2 "secret", which lives in the
 * environment (PASSWORD_PEPPER), never in the database: a stolen database
 * alone cannot be brute-forced. Hashes are PHC strings that carry their
 * parameters, so the parameters can be raised, and the pepper replaced, with
 * every account re-hashed at its next login ({@link PasswordHasher.verify}
 * says when). Hashes made before argon2id (scrypt, unpeppered) still verify
 * and are re-hashed the same way:
 *
 *   scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<key, base64url>
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify, type Algorithm } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum, which this build cannot read at run time). */
const ARGON2ID = 2 as Algorithm.Argon2id;

/** argon2id parameters of new hashes: 19 MiB, 2 passes, 1 lane (OWASP's baseline for argon2id). */
export const ARGON2_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordCheck {
  ok: boolean;
  /** The password matched a hash made with other parameters, another pepper or scrypt: store a fresh hash. */
  needsRehash: boolean;
}

export interface PasswordHasherOptions {
  pepper: Uint8Array;
  /** The pepper being replaced: still accepted, and the password then re-hashed with `pepper`. */
  previousPepper?: Uint8Array | undefined;
  /** @default ARGON2_PARAMS */
  params?: { memoryCost: number; timeCost: number; parallelism: number };
}

const ARGON2_PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

export class PasswordHasher {
  readonly #pepper: Buffer;
  readonly #previous: Buffer | undefined;
  readonly #params: { memoryCost: number; timeCost: number; parallelism: number };

  constructor({ pepper, previousPepper, params = ARGON2_PARAMS }: PasswordHasherOptions) {
    if (pepper.byteLength < 32) throw new Error('the password pepper must be at least 32 bytes');
    this.#pepper = Buffer.from(pepper);
    this.#previous = previousPepper ? Buffer.from(previousPepper) : undefined;
    this.#params = params;
  }

  /** Passwords are hashed in Unicode NFC, so the same characters typed on different systems match. */
  hash(password: string): Promise<string> {
    return argon2Hash(password.normalize('NFC'), { algorithm: ARGON2ID, secret: this.#pepper, ...this.#params });
  }

  /**
   * Whether `password` matches `encoded`, and whether the hash should be
   * replaced by a fresh one. @throws Error for a stored value that is no hash
   * made here (a server-side fault, not a wrong password).
   */
  async verify(password: string, encoded: string): Promise<PasswordCheck> {
    if (encoded.startsWith(`${PREFIX}$`)) return { ok: await verifyPassword(password, encoded), needsRehash: true };
    const match = ARGON2_PHC.exec(encoded);
    if (!match) throw new Error('malformed password hash');
    const normalized = password.normalize('NFC');
    if (await argon2Verify(encoded, normalized, { secret: this.#pepper })) {
      const [, m, t, p] = match.map(Number);
      const { memoryCost, timeCost, parallelism } = this.#params;
      return { ok: true, needsRehash: m !== memoryCost || t !== timeCost || p !== parallelism };
    }
    if (this.#previous && (await argon2Verify(encoded, normalized, { secret: this.#previous })))
      return { ok: true, needsRehash: true };
    return { ok: false, needsRehash: false };
  }
}

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  log2N: number;
  /** Block size. */
  r: number;
  /** Parallelization. */
  p: number;
}

/** The parameters scrypt hashes were made with: N = 2^15, r = 8, p = 1 (32 MiB per hash). */
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

/** A legacy scrypt hash of `password` (what accounts made before argon2id have; tests make them to prove the upgrade). */
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
