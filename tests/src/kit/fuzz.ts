/**
 * Generators for fuzzing the gateway with bad input: a seeded PRNG (so a
 * failure replays with `FUZZ_SEED`), valid operations built from the real
 * schema, mutations of those documents, garbage variables and forged
 * Authorization headers. Pure functions of the PRNG: nothing here talks to a
 * server, so the same seed always yields the same cases.
 */
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/** A small, fast, seedable PRNG (sfc32 seeded through splitmix32). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(readonly seed: number) {
    let state = seed >>> 0;
    const split = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A number in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** An independent stream for `label`, so adding cases to one category does not shift another. */
  fork(label: string): Rng {
    let hash = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    return new Rng(hash >>> 0);
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  /**
   * Random unicode: ASCII punctuation, control characters, combining marks,
   * right-to-left text, emoji, noncharacters, lone surrogates and the BOM.
   */
  unicode(length: number): string {
    const pools: (() => string)[] = [
      () => String.fromCharCode(this.between(0x21, 0x7e)),
      () => String.fromCharCode(this.between(0x00, 0x1f)),
      () => String.fromCharCode(this.between(0x300, 0x36f)),
      () => String.fromCharCode(this.between(0x590, 0x6ff)),
      () => String.fromCodePoint(this.between(0x1f300, 0x1faff)),
      () => this.pick(['\ufeff', '\ufffe', '\uffff', '\u200b', '\u202e', '\u2028', '\u2029', '\u00a0']),
      () => String.fromCharCode(this.between(0xd800, 0xdfff)),
      () => String.fromCodePoint(this.between(0x4e00, 0x9fff)),
    ];
    let out = '';
    for (let i = 0; i < length; i++) out += this.pick(pools)();
    return out;
  }
}

/** The seed of this run: `FUZZ_SEED` to replay one, otherwise a fresh one. */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${given}`);
    return seed >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** JSON text placed verbatim by `toJson` (`-0`, `1e400`, `NaN`: what JSON.stringify cannot write). */
export class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify, except that `Raw` values are written verbatim (and so may make the text invalid JSON). */
export function toJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : toJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).filter(([, field]) => field !== undefined);
    return `{${fields.map(([key, field]) => `${JSON.stringify(key)}:${toJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `[[[...]]]` (or `{"a":{"a":...}}`) nested `depth` levels, as JSON or GraphQL literal text. */
export function deepList(depth: number, inner = '1'): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}
export function deepJsonObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}
export function deepGraphQLObject(depth: number): string {
  return `${'{a:'.repeat(depth)}1${'}'.repeat(depth)}`;
}
/** `{ me { me { ... } } }`: a selection set nested `depth` levels. */
export function deepSelection(depth: number, field = 'me', leaf = 'id'): string {
  return `{${`${field}{`.repeat(depth)}${leaf}${'}'.repeat(depth)}}`;
}

/** Garbage JSON values of every shape, `depth` levels at most. */
export function garbageValue(rng: Rng, depth = 3): unknown {
  const leaves: (() => unknown)[] = [
    () => null,
    () => rng.chance(0.5),
    () => rng.between(-1000, 1000),
    () => rng.pick([2147483648, -2147483649, 9007199254740992, Number.MAX_VALUE, Number.MIN_VALUE, 0.5, 1e21, -1e-7]),
    () =>
      new Raw(
        rng.pick([
          '-0',
          '1e400',
          '-1e400',
          '123456789012345678901234567890',
          '0.0000000000000000000001',
          '1E+2',
          '-0.0',
        ]),
      ),
    () =>
      rng.pick([
        '',
        ' ',
        'NaN',
        'Infinity',
        '-Infinity',
        '-0',
        '0x10',
        '1e3',
        'null',
        'undefined',
        'true',
        '[]',
        '{}',
        '__proto__',
      ]),
    () => rng.unicode(rng.between(1, 40)),
    () => rng.string(rng.between(1, 30)),
    () => 'x'.repeat(rng.pick([1000, 65_536, 100_000])),
    () => rng.string(rng.between(1, 30), '0123456789'),
  ];
  if (depth <= 0 || rng.chance(0.55)) return rng.pick(leaves)();
  if (rng.chance(0.5)) return Array.from({ length: rng.between(0, 4) }, () => garbageValue(rng, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = rng.between(0, 4); i > 0; i--) {
    const key = rng.pick(['a', 'id', 'input', '__proto__', 'constructor', '', rng.unicode(3), rng.string(6)]);
    object[key] = garbageValue(rng, depth - 1);
  }
  return object;
}

/** IDs the generated operations use: real ones of the seeded users and chat, and malformed ones. */
export interface KnownIds {
  users: string[];
  chats: string[];
}

export interface GeneratedOperation {
  document: string;
  variables: Record<string, unknown>;
  /** The declared variables, name to GraphQL type text. */
  declared: Record<string, string>;
  kind: 'query' | 'mutation' | 'subscription';
}

/**
 * Root fields left out of generated operations: they end the fuzzing user's
 * sessions, delete it, or spend 100 ms of scrypt each (register, login).
 */
export const UNSAFE_ROOT_FIELDS = new Set([
  'logout',
  'logoutEverywhere',
  'endSession',
  'changePassword',
  'deleteMyAccount',
  'register',
  'login',
  'refreshToken',
]);

/**
 * A valid operation on a random root field of `kind`, built from the schema:
 * required arguments always (optional ones sometimes), as literals or as
 * variables, and a selection a few levels deep through any subgraph.
 */
export function generateOperation(
  schema: GraphQLSchema,
  rng: Rng,
  ids: KnownIds,
  kind: GeneratedOperation['kind'],
  useVariables: boolean,
): GeneratedOperation {
  const root =
    kind === 'query'
      ? schema.getQueryType()
      : kind === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) throw new Error(`the schema has no ${kind} type`);
  const fields = Object.values(root.getFields()).filter((field) => !UNSAFE_ROOT_FIELDS.has(field.name));
  const variables: Record<string, unknown> = {};
  const declared: Record<string, string> = {};
  const argument = (arg: GraphQLArgument): string => {
    const value = plausibleValue(rng, ids, arg.type, arg.name, 0);
    if (!useVariables) return `${arg.name}: ${graphqlLiteral(value, arg.type)}`;
    const name = `v${Object.keys(declared).length}`;
    declared[name] = String(arg.type);
    variables[name] = value;
    return `${arg.name}: $${name}`;
  };
  const argumentsOf = (field: GraphQLField<unknown, unknown>): string => {
    const chosen = field.args.filter((arg) => isNonNullType(arg.type) || rng.chance(0.35));
    return chosen.length ? `(${chosen.map(argument).join(', ')})` : '';
  };
  const selectionOf = (type: GraphQLObjectType, depth: number): string => {
    const all = Object.values(type.getFields());
    const leaves = all.filter((field) => isLeafType(getNamedType(field.type)));
    const nested = depth < 3 ? all.filter((field) => !isLeafType(getNamedType(field.type))) : [];
    const picked = new Set<GraphQLField<unknown, unknown>>();
    for (let i = rng.between(1, 3); i > 0 && leaves.length; i--) picked.add(rng.pick(leaves));
    for (let i = rng.between(0, 2); i > 0 && nested.length; i--) picked.add(rng.pick(nested));
    if (picked.size === 0) return '__typename';
    return [...picked].map((field) => `${field.name}${argumentsOf(field)}${selectionFor(field, depth + 1)}`).join(' ');
  };
  const selectionFor = (field: GraphQLField<unknown, unknown>, depth: number): string => {
    const named = getNamedType(field.type);
    if (isLeafType(named)) return '';
    if (isObjectType(named)) return ` { ${selectionOf(named, depth)} }`;
    if (isAbstractType(named)) {
      const possible = schema.getPossibleTypes(named);
      const fragments = possible
        .filter(() => rng.chance(0.5))
        .map((type) => `... on ${type.name} { ${selectionOf(type, depth)} }`);
      return ` { __typename ${fragments.join(' ')} }`;
    }
    return ' { __typename }';
  };
  const field = rng.pick(fields);
  const selection = `${field.name}${argumentsOf(field)}${selectionFor(field, 1)}`;
  const definitions = Object.entries(declared).map(([name, type]) => `$${name}: ${type}`);
  const header = definitions.length
    ? `${kind} Fuzz(${definitions.join(', ')})`
    : rng.chance(0.5) || kind !== 'query'
      ? `${kind} Fuzz`
      : '';
  return { document: `${header} { ${selection} }`.trim(), variables, declared, kind };
}

/** A value of `type` that the API might accept: real IDs, short texts, small numbers. */
export function plausibleValue(rng: Rng, ids: KnownIds, type: GraphQLInputType, name: string, depth: number): unknown {
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable))
    return Array.from({ length: rng.between(1, 2) }, () => plausibleValue(rng, ids, nullable.ofType, name, depth + 1));
  if (isEnumType(nullable)) return rng.pick(nullable.getValues()).name;
  if (isInputObjectType(nullable)) {
    const object: Record<string, unknown> = {};
    for (const field of Object.values(nullable.getFields())) {
      if (isNonNullType(field.type) || (depth < 2 && rng.chance(0.4)))
        object[field.name] = plausibleValue(rng, ids, field.type, field.name, depth + 1);
    }
    return object;
  }
  if (isScalarType(nullable)) {
    switch (nullable.name) {
      case 'ID':
        return rng.pick([...ids.users, ...ids.chats, ...ids.chats, '1', '0', rng.string(8, '0123456789')]);
      case 'Int':
        return rng.between(1, 20);
      case 'Float':
        return rng.next() * 100;
      case 'Boolean':
        return rng.chance(0.5);
      default:
        if (/^(chatId|userId|id|messageId)$/i.test(name)) return rng.pick([...ids.chats, ...ids.users]);
        if (/clientMessageId/i.test(name)) return `fz-${rng.string(10)}`;
        if (/emoji/i.test(name)) return rng.pick(['👍', '🎉', 'x']);
        if (/time|at$|around/i.test(name)) return rng.pick(['2026-01-01', new Date(0).toISOString(), 'not a time']);
        return rng.pick([`fuzz ${rng.string(6)}`, rng.string(rng.between(1, 12))]);
    }
  }
  return null;
}

/** `value` as a GraphQL literal of `type` (enums unquoted). */
export function graphqlLiteral(value: unknown, type: GraphQLInputType): string {
  const nullable = getNullableType(type) as GraphQLInputType;
  if (value === null || value === undefined) return 'null';
  if (isListType(nullable) && Array.isArray(value))
    return `[${value.map((item) => graphqlLiteral(item, nullable.ofType)).join(', ')}]`;
  if (isEnumType(nullable)) return String(value as string);
  if (isInputObjectType(nullable) && typeof value === 'object') {
    const fields = nullable.getFields();
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([key, field]) => `${key}: ${fields[key] ? graphqlLiteral(field, fields[key].type) : JSON.stringify(field)}`)
      .join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** Splits a document into tokens (whitespace kept), good enough to mutate it. */
export function tokenize(document: string): string[] {
  return (
    document.match(
      /"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\.\.\.|\$?[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\s+|[\s\S]/g,
    ) ?? []
  );
}

/** Marks where `documentBody` splices invalid UTF-8 bytes into the request. */
export const INVALID_UTF8_MARK = '\u0001INVALID_UTF8\u0001';

const PUNCTUATION = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '!',
  '=',
  '@',
  '$',
  '...',
  '|',
  '&',
  ',',
  '"',
  '"""',
  '#',
  '\\',
  '\n',
];
const KEYWORDS = [
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  'null',
  'true',
  'false',
  'schema',
  'type',
  'extend',
  'directive',
  'input',
  'enum',
  '__typename',
  '__schema',
  '__type',
];

/**
 * Applies 1–4 random mutations to `document`: deleted, inserted, duplicated
 * and swapped tokens, random unicode, unbalanced braces, huge strings, NUL
 * characters, invalid UTF-8 (marked with INVALID_UTF8_MARK), truncation,
 * garbage directives, fragments and variables. `vocabulary`: tokens to insert.
 */
export function mutateDocument(rng: Rng, document: string, vocabulary: readonly string[]): string {
  let tokens = tokenize(document);
  const at = () => rng.int(tokens.length + 1);
  const insert = (token: string) => tokens.splice(at(), 0, token);
  const mutations: (() => void)[] = [
    () => tokens.splice(rng.int(tokens.length), 1),
    () => tokens.splice(rng.int(tokens.length), rng.between(2, 6)),
    () => insert(rng.pick(vocabulary)),
    () => insert(rng.pick(PUNCTUATION)),
    () => insert(` ${rng.pick(KEYWORDS)} `),
    () => {
      const index = rng.int(tokens.length);
      tokens.splice(index, 0, tokens[index] ?? '');
    },
    () => {
      const [i, j] = [rng.int(tokens.length), rng.int(tokens.length)];
      [tokens[i], tokens[j]] = [tokens[j] ?? '', tokens[i] ?? ''];
    },
    () => (tokens[rng.int(tokens.length)] = rng.unicode(rng.between(1, 8))),
    () => insert(rng.unicode(rng.between(1, 20))),
    () => insert('{'.repeat(rng.between(1, 50))),
    () => insert('}'.repeat(rng.between(1, 50))),
    () => insert(`"${'x'.repeat(rng.pick([10_000, 100_000, 400_000]))}"`),
    () => insert(`"""${rng.unicode(20)}`),
    () => insert('"\\u'),
    () => insert(`"\\u${rng.string(4, '0123456789abcdefXYZ')}"`),
    () => insert('\u0000'),
    () => insert(INVALID_UTF8_MARK),
    () => (tokens = tokens.slice(0, rng.int(tokens.length))),
    () =>
      insert(
        ` @${rng.pick(['skip', 'include', 'deprecated', 'defer', 'stream', 'specifiedBy', rng.string(5)])}${rng.pick(['', '(if: true)', '(if: "yes")', '(if: $nope)', '(', '()', `(if: ${rng.string(3)})`])} `,
      ),
    () => insert(` ...${rng.pick(['Nope', 'on Query { __typename }', 'on User { id }', 'on', ''])} `),
    () =>
      insert(
        ` fragment ${rng.string(4)} on ${rng.pick(['Query', 'User', 'Nope', 'String'])} { ${rng.pick(vocabulary)} } `,
      ),
    () => insert(` $${rng.pick(['nope', 'v0', 'v1', '', '1'])} `),
    () => insert(rng.pick(['1e999999', '0x12', '-', '.5', '00', '-0', '1.', '9'.repeat(400), 'NaN', 'Infinity'])),
    () => insert(`#${rng.unicode(10)}\n`),
    () => insert(rng.pick(['\ufeff', '\r', '\t', '\u2028', '\u00a0'])),
  ];
  for (let n = rng.between(1, 4); n > 0; n--) rng.pick(mutations)();
  return tokens.join('');
}

/** The tokens worth inserting into documents: every name of the given documents, plus a few that exist nowhere. */
export function vocabularyOf(documents: readonly string[]): string[] {
  const words = new Set<string>(['nope', '__typename', 'Query', 'id', 'Fuzz']);
  for (const document of documents)
    for (const token of tokenize(document)) if (/^\$?[A-Za-z_]\w*$/.test(token)) words.add(token);
  return [...words].sort();
}

/** The request body's bytes for `query`, with any INVALID_UTF8_MARK replaced by bytes that are not UTF-8. */
export function documentBody(rng: Rng, body: string): string | Uint8Array<ArrayBuffer> {
  const escaped = JSON.stringify(INVALID_UTF8_MARK).slice(1, -1);
  if (!body.includes(escaped)) return body;
  const parts = body.split(escaped);
  const chunks: Buffer[] = [];
  parts.forEach((part, index) => {
    if (index > 0)
      chunks.push(
        Buffer.from(
          rng.pick([
            [0xff],
            [0xc0, 0x80],
            [0x80],
            [0xe2, 0x82],
            [0xed, 0xa0, 0x80],
            [0xf8, 0x88, 0x80, 0x80, 0x80],
            [0xfe, 0xfe, 0xff],
          ]),
        ),
      );
    chunks.push(Buffer.from(part, 'utf8'));
  });
  const joined = Buffer.concat(chunks);
  const bytes = new Uint8Array(joined.length);
  bytes.set(joined);
  return bytes;
}

/** Corrupts the variables of a generated operation: wrong types, missing, extra, nested garbage, huge numbers, -0, NaN-like strings. */
export function garbageVariables(rng: Rng, operation: GeneratedOperation): unknown {
  const names = Object.keys(operation.variables);
  const variables: Record<string, unknown> = { ...operation.variables };
  const strategies: (() => unknown)[] = [
    () => {
      if (names.length) variables[rng.pick(names)] = garbageValue(rng);
      return variables;
    },
    () => {
      if (names.length) delete variables[rng.pick(names)];
      return variables;
    },
    () => ({ ...variables, [rng.pick(['extra', 'v9', '__proto__', '', rng.unicode(4)])]: garbageValue(rng) }),
    () => {
      for (const name of names) variables[name] = garbageValue(rng, 4);
      return variables;
    },
    () => new Raw(rng.pick(['"a string"', '42', '[]', '[{}]', 'true', '-0', '"{}"', '1e400', `"${'x'.repeat(1000)}"`])),
    () => {
      if (names.length)
        variables[rng.pick(names)] = new Raw(
          rng.pick([
            '-0',
            '1e400',
            '-1e400',
            '2147483648',
            '-2147483649',
            '9007199254740993',
            '1.5',
            '123456789012345678901234567890',
            '0.1e-400',
          ]),
        );
      return variables;
    },
    () => {
      if (names.length)
        variables[rng.pick(names)] = rng.pick([
          'NaN',
          'Infinity',
          '-Infinity',
          '-0',
          '',
          ' ',
          '0x1f',
          '1e3',
          '١٢٣',
          '\u0000',
          'null',
          '  42  ',
        ]);
      return variables;
    },
    () => {
      if (names.length) variables[rng.pick(names)] = new Raw(deepList(rng.pick([50, 500, 2000])));
      return variables;
    },
    () => {
      if (names.length) variables[rng.pick(names)] = new Raw(deepJsonObject(rng.pick([50, 500, 2000])));
      return variables;
    },
    () => {
      if (names.length)
        variables[rng.pick(names)] = Array.from({ length: rng.pick([1000, 10_000]) }, (_, i) => String(i));
      return variables;
    },
  ];
  return rng.pick(strategies)();
}

const base64url = (text: string | Buffer) => Buffer.from(text).toString('base64url');

/**
 * An Authorization header that must be refused: wrong schemes, garbage,
 * `alg: none`, forged signatures, tampered payloads, expired-looking claims,
 * very long values; `validToken` is a real token to tamper with.
 */
export function badAuthorization(rng: Rng, validToken: string, validUserId: string): string {
  const [header = '', payload = '', signature = ''] = validToken.split('.');
  const now = Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown>) =>
    base64url(JSON.stringify({ sub: validUserId, iat: now - 3600, exp: now - 1800, ...extra }));
  // Never the last character: its low bits are base64 padding, so changing
  // only them (A↔B) decodes to the same bytes and leaves a valid token.
  const flip = (text: string) => {
    if (text.length < 2) return 'A';
    const index = rng.int(text.length - 1);
    const replaced = text[index] === 'A' ? 'B' : 'A';
    return `${text.slice(0, index)}${replaced}${text.slice(index + 1)}`;
  };
  const latin1 = (length: number) =>
    rng.string(length, ' !#$%&()*+-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~\u00a1\u00e9\u00ff');
  const shapes: (() => string)[] = [
    () => latin1(rng.between(1, 60)),
    () => `Basic ${base64url('ann:password')}`,
    () => `${rng.pick(['Token', 'JWT', 'Bearer:', 'Bearer,', 'Beare', 'Digest'])} ${validToken}`,
    () => 'Bearer',
    () => 'Bearer ',
    () => `Bearer ${validToken} ${validToken}`,
    () => `Bearer ${latin1(rng.between(1, 200))}`,
    () => `Bearer ${base64url('{"alg":"none","typ":"JWT"}')}.${claims({ exp: now + 3600 })}.`,
    () => `Bearer ${base64url('{"alg":"HS256","typ":"JWT"}')}.${claims({})}.${base64url(rng.string(32))}`,
    () =>
      `Bearer ${base64url('{"alg":"RS256","typ":"JWT","kid":"../../etc/passwd"}')}.${claims({ exp: now + 3600 })}.${base64url(rng.string(64))}`,
    () =>
      `Bearer ${base64url('{"alg":"EdDSA","kid":"nope"}')}.${claims({ exp: now + 3600 })}.${base64url(rng.string(64))}`,
    () => `Bearer ${header}.${claims({ exp: now + 3600, sub: '1' })}.${signature}`,
    () => `Bearer ${header}.${payload}.${flip(signature)}`,
    () => `Bearer ${header}.${flip(payload)}.${signature}`,
    () => `Bearer ${header}.${payload}`,
    () => `Bearer ${header}.${payload}.${signature}.${signature}`,
    () => `Bearer ${validToken.slice(0, rng.int(validToken.length))}`,
    () => `Bearer ${base64url('{"alg":"HS256"')}.${base64url('not json')}.${signature}`,
    () => `Bearer ${'.'.repeat(rng.between(1, 5))}`,
    () => `Bearer ${base64url(rng.unicode(20))}.${base64url(rng.unicode(20))}.${base64url(rng.unicode(20))}`,
    () => `Bearer ${'a'.repeat(rng.pick([4096, 8000, 15_000]))}`,
    () => `Bearer ${'a'.repeat(rng.pick([20_000, 70_000]))}`,
  ];
  return rng.pick(shapes)();
}

// ---------------------------------------------------------------------------
// Dates and cursors: every argument of the schema that carries one.

/** What an argument carries: a DateTime, an opaque cursor, or (like `around`) either. */
export type PositionKind = 'date' | 'cursor' | 'date or cursor';

/** One argument (or a DateTime field of an input-object argument) of a root field that carries a date or a cursor. */
export interface PositionArgument {
  kind: 'query' | 'mutation' | 'subscription';
  field: GraphQLField<unknown, unknown>;
  /** The argument's name, then the input field's name when the date sits inside an input object. */
  path: [string] | [string, string];
  carries: PositionKind;
}

/** String arguments that are positions: connection cursors (`after`, `before`, `…cursor`) and `around` (a message ID or a time). */
const CURSOR_NAME = /^(after|before)$|cursor$/i;
const DATE_OR_CURSOR_NAME = /^around$/i;

/**
 * Walks every field of every object type of `schema` (the composed
 * supergraph) for arguments that carry a DateTime (directly, or as a field of
 * an input-object argument) or a cursor. Those on root fields are returned
 * for fuzzing; any other is listed in `unreached`, so that a new one cannot
 * go untested unnoticed. Fields marked `@inaccessible` are not part of the API
 * and are skipped.
 */
export function positionArguments(schema: GraphQLSchema): { reached: PositionArgument[]; unreached: string[] } {
  const roots = new Map<string, PositionArgument['kind']>();
  for (const [kind, type] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const) {
    if (type) roots.set(type.name, kind);
  }
  const reached: PositionArgument[] = [];
  const unreached: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.astNode?.directives?.some((directive) => directive.name.value === 'inaccessible')) continue;
      for (const arg of field.args) {
        const found: [PositionArgument['path'], PositionKind][] = [];
        const named = getNamedType(arg.type);
        if (named.name === 'DateTime') found.push([[arg.name], 'date']);
        else if (named.name === 'String' && DATE_OR_CURSOR_NAME.test(arg.name))
          found.push([[arg.name], 'date or cursor']);
        else if (named.name === 'String' && CURSOR_NAME.test(arg.name)) found.push([[arg.name], 'cursor']);
        else if (isInputObjectType(named)) {
          for (const inner of Object.values(named.getFields())) {
            const innerNamed = getNamedType(inner.type);
            if (innerNamed.name === 'DateTime') found.push([[arg.name, inner.name], 'date']);
            else if (
              isInputObjectType(innerNamed) &&
              Object.values(innerNamed.getFields()).some((deep) => getNamedType(deep.type).name === 'DateTime')
            ) {
              unreached.push(
                `${type.name}.${field.name}(${arg.name}.${inner.name}.…): a DateTime nested two input objects deep`,
              );
            }
          }
        }
        const kind = roots.get(type.name);
        for (const [path, carries] of found) {
          if (kind) reached.push({ kind, field, path, carries });
          else unreached.push(`${type.name}.${field.name}(${path.join('.')}): not on a root field`);
        }
      }
    }
  }
  return { reached, unreached };
}

/** Digits alone could name a message (`around` takes IDs too): never generated as a bad value. */
const notAnId = (value: string) => (/^\d+$/.test(value) ? `${value}x` : value);

/** Replaces lone surrogates, which a GraphQL string literal cannot escape, so literal and variable cases stay alike. */
const wellFormed = (text: string) =>
  text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd');

/**
 * Times no store can hold, or that are no ISO-8601 time at all: year 0 and
 * the limits of JavaScript's Date, six-digit and negative years, days that do
 * not exist, empty and garbage strings; then `random` more, seeded.
 */
export function badDates(rng: Rng, random: number): string[] {
  const fixed = [
    '0000-01-01',
    '0000-12-31T23:59:59.999Z',
    '-271821-04-19',
    '-271821-04-20T00:00:00.000Z',
    '275760-09-13',
    '+275760-09-13T00:00:00.000Z',
    '+999999-01-01',
    '10000-01-01',
    '-000001-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999-01:00',
    '2026-02-30',
    '2026-13-01',
    '2026-11-25T24:00:01Z',
    '',
    ' ',
    'garbage',
    'NaN',
    'Tue Dec 01 0000 00:00:00 GMT',
  ];
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const generated = Array.from({ length: random }, () =>
    rng.pick([
      () =>
        `${pad(0, 4)}-${pad(rng.between(1, 12), 2)}-${pad(rng.between(1, 28), 2)}T${pad(rng.between(0, 23), 2)}:00:00Z`,
      () => `${rng.pick(['+', '-'])}${pad(rng.between(10_000, 999_999), 6)}-01-01T00:00:00.000Z`,
      () => `${pad(rng.between(1, 9999), 4)}-${pad(rng.between(13, 99), 2)}-01`,
      () => `${pad(rng.between(1, 9999), 4)}-02-${pad(rng.between(30, 99), 2)}`,
      () => wellFormed(rng.unicode(rng.between(1, 20))),
    ])(),
  );
  return [...fixed, ...generated.map(notAnId)];
}

/**
 * Cursors this API never issued: malformed base64 and JSON, wrong shapes,
 * times out of every store's range, IDs out of range, NUL characters; then
 * `random` more, seeded. None of them is a position the API could accept.
 */
export function badCursors(rng: Rng, random: number): string[] {
  const encode = (value: unknown) =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const fixed = [
    '',
    ' ',
    'garbage',
    '!!!!',
    'x'.repeat(2000),
    encode('not json'),
    encode('null'),
    encode([]),
    encode({ a: 1 }),
    encode([1]),
    encode([null, null]),
    encode(['0']),
    encode(['-1']),
    // Past the largest ID, and longer than any username.
    encode(['9'.repeat(33)]),
    encode(['\u0000']),
    encode(['\u0000', '\u0000']),
    encode(['0000-01-01T00:00:00.000Z', '1']),
    encode(['-271821-04-20T00:00:00.000Z', '1']),
    encode(['+275760-09-13T00:00:00.000Z', '1']),
    encode(['0000-01-01T00:00:00.000Z']),
    encode(['2026-02-30T00:00:00.000Z', '1']),
    encode(['', '']),
    encode(['2026-01-01T00:00:00.000Z', '0']),
    encode(['2026-01-01T00:00:00.000Z', '1', 'extra']),
  ];
  const generated = Array.from({ length: random }, () =>
    rng.pick([
      () => Buffer.from(Array.from({ length: rng.between(1, 40) }, () => rng.int(256))).toString('base64url'),
      () => encode([wellFormed(rng.unicode(rng.between(1, 12))), wellFormed(rng.unicode(rng.between(1, 12)))]),
      () => encode(wellFormed(rng.unicode(rng.between(1, 30)))),
      () => wellFormed(rng.unicode(rng.between(1, 30))),
      () =>
        encode([
          `${rng.pick(['+', '-'])}${rng.string(6, '0123456789')}-01-01T00:00:00.000Z`,
          String(rng.between(1, 1000)),
        ]),
    ])(),
  );
  return [...fixed, ...generated.map(notAnId)];
}
