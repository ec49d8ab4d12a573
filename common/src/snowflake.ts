/**
 * 64-bit, time-ordered IDs (the Snowflake layout), rendered as decimal strings
 * in the API:
 *
 *   1 bit unused | 41 bits milliseconds since EPOCH | 10 bits worker | 12 bits sequence
 *
 * IDs from one generator strictly increase. When the wall clock moves
 * backwards (NTP step, VM migration), the generator keeps its own logical
 * time instead of waiting or failing: it continues from the last timestamp it
 * issued, and when a millisecond's 4096 sequence numbers are used up it moves
 * its logical clock one millisecond ahead. IDs are unique across processes as
 * long as each process has its own worker number.
 */
export const EPOCH_MS = Date.UTC(2024, 0, 1);
export const MAX_WORKER = 1023;
const MAX_SEQUENCE = 4095;

export interface SnowflakeOptions {
  worker: number;
  /** @default Date.now */
  now?: () => number;
}

export class Snowflake {
  readonly #worker: bigint;
  readonly #now: () => number;
  #lastMs = -1;
  #sequence = 0;

  constructor({ worker, now = Date.now }: SnowflakeOptions) {
    if (!Number.isInteger(worker) || worker < 0 || worker > MAX_WORKER) {
      throw new RangeError(`worker must be an integer in 0..${MAX_WORKER}, got ${worker}`);
    }
    this.#worker = BigInt(worker);
    this.#now = now;
  }

  next(): bigint {
    const wall = this.#now() - EPOCH_MS;
    if (wall > this.#lastMs) {
      this.#lastMs = wall;
      this.#sequence = 0;
    } else if (this.#sequence < MAX_SEQUENCE) {
      this.#sequence += 1;
    } else {
      this.#lastMs += 1;
      this.#sequence = 0;
    }
    return (BigInt(this.#lastMs) << 22n) | (this.#worker << 12n) | BigInt(this.#sequence);
  }

  nextId(): string {
    return this.next().toString();
  }
}

/** The creation time encoded in an ID. */
export function snowflakeTime(id: bigint): Date {
  return new Date(Number(id >> 22n) + EPOCH_MS);
}

/** The smallest ID that could have been issued at `time`: a lower bound for time-range queries. */
export function snowflakeAt(time: Date): bigint {
  return BigInt(Math.max(0, time.getTime() - EPOCH_MS)) << 22n;
}

const ID_PATTERN = /^[0-9]{1,19}$/;
const MAX_ID = (1n << 63n) - 1n;

/**
 * Parses an ID argument; undefined for anything that is not a positive 63-bit
 * decimal integer, so callers can answer BAD_USER_INPUT.
 */
export function parseId(value: string): bigint | undefined {
  if (!ID_PATTERN.test(value)) return undefined;
  const id = BigInt(value);
  return id > 0n && id <= MAX_ID ? id : undefined;
}
