/**
 * 64-bit, time-ordered IDs (the Snowflake layout), rendered as decimal strings
 * in the API:
 *
 *   1 bit unused | 41 bits milliseconds since EPOCH | 10 bits worker | 12 bits sequence
 *
 * IDs from one generator strictly increase, and never repeat:
 *
 * - Time comes from a monotonic clock (the wall clock at process start plus
 *   `performance.now()`), so an NTP step or a VM migration that moves the
 *   wall clock backwards does not move it.
 * - Should the clock passed in still go backwards, the generator keeps its
 *   own logical time: it continues from the last millisecond it issued and,
 *   when that millisecond's 4,096 sequence numbers are used up, borrows the
 *   next millisecond. It never waits and never fails.
 * - `notBefore` starts the logical clock after the last millisecond a
 *   previous holder of the same worker number used (recorded by the runtime
 *   in `snowflake_workers`), so a restart with a wall clock that is now
 *   behind still does not repeat an ID.
 *
 * IDs are unique across processes as long as each live process has its own
 * worker number: the runtime takes one under a Postgres advisory lock, or the
 * one configured in WORKER_ID (a Kubernetes pod ordinal, say).
 */
export const EPOCH_MS = Date.UTC(2024, 0, 1);
export const MAX_WORKER = 1023;
const MAX_SEQUENCE = 4095;

/** Milliseconds since the Unix epoch from a monotonic source. */
export const monotonicNow = (): number => Math.floor(performance.timeOrigin + performance.now());

export interface SnowflakeOptions {
  worker: number;
  /** @default monotonicNow */
  now?: () => number;
  /** Issue no ID from a millisecond before this one (Unix epoch ms). */
  notBefore?: number;
}

export class Snowflake {
  readonly worker: number;
  readonly #workerBits: bigint;
  readonly #now: () => number;
  #lastMs: number;
  #sequence = MAX_SEQUENCE;

  constructor({ worker, now = monotonicNow, notBefore = 0 }: SnowflakeOptions) {
    if (!Number.isInteger(worker) || worker < 0 || worker > MAX_WORKER) {
      throw new RangeError(`worker must be an integer in 0..${MAX_WORKER}, got ${worker}`);
    }
    this.worker = worker;
    this.#workerBits = BigInt(worker);
    this.#now = now;
    // One millisecond before notBefore, with its sequence used up: the first ID lands on notBefore or later.
    this.#lastMs = Math.max(-1, notBefore - EPOCH_MS - 1);
  }

  /** The last millisecond (Unix epoch) this generator issued IDs for. */
  get lastIssuedMs(): number {
    return this.#lastMs + EPOCH_MS;
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
    return (BigInt(this.#lastMs) << 22n) | (this.#workerBits << 12n) | BigInt(this.#sequence);
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
