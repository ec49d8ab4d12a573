import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@chat/common';
import { createSubgraphTestkit, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
import { contactCodeKey, createUsersSubgraph, USERS_MODELS } from './index.ts';
import { openMessageSender } from './mail/open-sender.ts';
import {
  DevOutboxSender,
  SmtpSender,
  type MessageSender,
  type OutboxEntry,
  type OutgoingMessage,
} from './mail/sender.ts';
import { CODE_SUBJECT, ContactChangeService, maskEmail, maskPhone } from './services/contact-change-service.ts';
import { ContactChangeStore } from './store/contact-change-store.ts';

const REQUEST_EMAIL = `mutation ($value: String!) { requestEmailChange(newEmail: $value) { sentTo expiresAt } }`;
const CONFIRM_EMAIL = `mutation ($code: String!) { confirmEmailChange(code: $code) { id email phone version } }`;
const REQUEST_PHONE = `mutation ($value: String!) { requestPhoneChange(newPhone: $value) { sentTo expiresAt } }`;
const CONFIRM_PHONE = `mutation ($code: String!) { confirmPhoneChange(code: $code) { id email phone version } }`;
const ME = '{ me { email phone version } }';

interface Me {
  email: string | null;
  phone: string | null;
  version: number;
}

describe('contact changes (in-process)', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createUsersSubgraph>>;
  let outbox: string;
  /** Outbox files already handed to a test. */
  const seen = new Set<string>();

  /** A user of the test's own, with a token (no password hashing: fast). */
  const account = () => kit.seed.user('contact');

  const me = async (user: TestUser): Promise<Me> => (await kit.ok<{ me: Me }>(ME, {}, user)).me;

  /** The one new outbox message to `to` since the last call (fails on none or several). */
  const takeMessage = (to: string): OutboxEntry => {
    const fresh = readdirSync(outbox).filter((name) => name.endsWith('.json') && !seen.has(name));
    const mine = fresh
      .map((name) => ({ name, entry: JSON.parse(readFileSync(join(outbox, name), 'utf8')) as OutboxEntry }))
      .filter(({ entry }) => entry.to === to);
    assert.equal(mine.length, 1, `expected one new message to ${to}, found ${mine.length}`);
    seen.add(mine[0]!.name);
    return mine[0]!.entry;
  };

  const codeIn = (message: { text: string }): string => {
    const match = /\b(\d{6})\b/.exec(message.text);
    assert.ok(match, message.text);
    return match[1]!;
  };

  const requestEmail = async (user: TestUser, value: string, to = value.trim().toLowerCase()) => {
    const data = await kit.ok<{ requestEmailChange: { sentTo: string; expiresAt: string } }>(
      REQUEST_EMAIL,
      { value },
      user,
    );
    return { ...data.requestEmailChange, code: codeIn(takeMessage(to)) };
  };

  const pendingRow = (user: TestUser, kind: 'EMAIL' | 'PHONE') =>
    kit.runtime.db.prisma.contactChange.findUnique({ where: { userId_kind: { userId: BigInt(user.id), kind } } });

  const assertInvalidCode = (error: { extensions: Record<string, unknown> }, attemptsLeft: number) => {
    assert.equal(error.extensions.code, 'BAD_USER_INPUT');
    assert.equal(error.extensions.reason, 'INVALID_CODE');
    assert.equal(error.extensions.attemptsLeft, attemptsLeft);
  };

  /** A six-digit code that is not `code`. */
  const otherThan = (code: string) => (code === '000000' ? '111111' : '000000');

  before(async () => {
    outbox = mkdtempSync(join(tmpdir(), 'chat-outbox-'));
    // The memory runtime has no data directory: send to a temporary outbox.
    kit = await createSubgraphTestkit((runtime) =>
      createUsersSubgraph(runtime, loadConfig(USERS_MODELS, { OUTBOX_DIR: outbox })),
    );
  });
  after(async () => {
    await kit.close();
    rmSync(outbox, { recursive: true, force: true });
  });

  it('changes the email once the code sent to the new address is confirmed', async () => {
    const ann = await account();
    assert.deepEqual(await me(ann), { email: null, phone: null, version: 1 });

    const before = Date.now();
    const data = await kit.ok<{ requestEmailChange: { sentTo: string; expiresAt: string } }>(
      REQUEST_EMAIL,
      { value: '  Ann.Lee@Example.COM ' },
      ann,
    );
    assert.equal(data.requestEmailChange.sentTo, 'a***@example.com');
    const minutes = (Date.parse(data.requestEmailChange.expiresAt) - before) / 60_000;
    assert.ok(minutes > 14.9 && minutes <= 15.1, `expires in ${minutes} minutes`);

    const message = takeMessage('ann.lee@example.com');
    assert.equal(message.channel, 'EMAIL');
    assert.equal(message.subject, CODE_SUBJECT);
    assert.ok(!Number.isNaN(Date.parse(message.sentAt)));
    const code = codeIn(message);
    // Nothing changes before the confirmation.
    assert.deepEqual(await me(ann), { email: null, phone: null, version: 1 });

    const confirmed = await kit.ok<{ confirmEmailChange: Me & { id: string } }>(CONFIRM_EMAIL, { code }, ann);
    assert.deepEqual(confirmed.confirmEmailChange, {
      id: ann.id,
      email: 'ann.lee@example.com',
      phone: null,
      version: 2,
    });
    assert.deepEqual(await me(ann), { email: 'ann.lee@example.com', phone: null, version: 2 });
    assert.equal(await pendingRow(ann, 'EMAIL'), null);

    // Asking for the address the account has (in any case) changes nothing.
    const unchanged = await kit.refusal(REQUEST_EMAIL, { value: 'ANN.LEE@example.com' }, ann);
    assert.deepEqual(unchanged.extensions, { argument: 'newEmail', reason: 'UNCHANGED', code: 'BAD_USER_INPUT' });
  });

  it('stores the code only as an HMAC of the user, kind, new value and code', async () => {
    const ben = await account();
    const { code } = await requestEmail(ben, 'ben@example.com');
    const row = await pendingRow(ben, 'EMAIL');
    assert.ok(row);
    const text = JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    assert.ok(!text.includes(code), `the row holds the code: ${text}`);
    const expected = createHmac('sha256', contactCodeKey(kit.runtime.config.secrets.passwordPepper!))
      .update(`${ben.id}:EMAIL:ben@example.com:${code}`)
      .digest('hex');
    assert.equal(row.codeHash, expected);
    assert.equal(row.newValue, 'ben@example.com');
    assert.equal(row.attempts, 0);
    assert.equal(row.sends, 1);
  });

  it('refuses a wrong code, counting attempts, and changes nothing', async () => {
    const cy = await account();
    const { code } = await requestEmail(cy, 'cy@example.com');
    const first = await kit.refusal(CONFIRM_EMAIL, { code: otherThan(code) }, cy);
    assertInvalidCode(first, 4);
    assert.deepEqual(first.extensions, {
      argument: 'code',
      reason: 'INVALID_CODE',
      attemptsLeft: 4,
      code: 'BAD_USER_INPUT',
    });
    assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code: otherThan(code) }, cy), 3);
    assert.deepEqual(await me(cy), { email: null, phone: null, version: 1 });
    assert.equal((await pendingRow(cy, 'EMAIL'))?.attempts, 2);

    // A malformed code is invalid input, not an attempt.
    const malformed = await kit.refusal(CONFIRM_EMAIL, { code: '12ab' }, cy);
    assert.equal(malformed.extensions.code, 'BAD_USER_INPUT');
    assert.equal(malformed.extensions.reason, undefined);
    assert.equal((await pendingRow(cy, 'EMAIL'))?.attempts, 2);

    // The right code still works, spaces and all.
    const confirmed = await kit.ok<{ confirmEmailChange: Me }>(
      CONFIRM_EMAIL,
      { code: ` ${code.slice(0, 3)} ${code.slice(3)} ` },
      cy,
    );
    assert.equal(confirmed.confirmEmailChange.email, 'cy@example.com');
  });

  it('refuses the right code after five wrong attempts', async () => {
    const dee = await account();
    const { code } = await requestEmail(dee, 'dee@example.com');
    for (const left of [4, 3, 2, 1, 0])
      assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code: otherThan(code) }, dee), left);
    assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code }, dee), 0);
    assert.deepEqual(await me(dee), { email: null, phone: null, version: 1 });
    assert.equal((await pendingRow(dee, 'EMAIL'))?.attempts, 5);
  });

  it('refuses an expired code', async () => {
    const eve = await account();
    const { code } = await requestEmail(eve, 'eve@example.com');
    await kit.runtime.db.prisma.contactChange.update({
      where: { userId_kind: { userId: BigInt(eve.id), kind: 'EMAIL' } },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code }, eve), 0);
    assert.deepEqual(await me(eve), { email: null, phone: null, version: 1 });
  });

  it('accepts a code once', async () => {
    const fay = await account();
    const { code } = await requestEmail(fay, 'fay@example.com');
    await kit.ok(CONFIRM_EMAIL, { code }, fay);
    assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code }, fay), 0);
    assert.deepEqual(await me(fay), { email: 'fay@example.com', phone: null, version: 2 });
  });

  it('accepts a code once even when confirmed twice at the same time', async () => {
    const gil = await account();
    const { code } = await requestEmail(gil, 'gil@example.com');
    const results = await Promise.all([kit.run(CONFIRM_EMAIL, { code }, gil), kit.run(CONFIRM_EMAIL, { code }, gil)]);
    assert.equal(results.filter((result) => !result.errors).length, 1, JSON.stringify(results));
    const refused = results.find((result) => result.errors)!;
    assert.equal(refused.errors?.[0]?.extensions.reason, 'INVALID_CODE');
    assert.deepEqual(await me(gil), { email: 'gil@example.com', phone: null, version: 2 });
  });

  it('replaces the pending code when asked again, and the attempts start over', async () => {
    const hal = await account();
    const first = await requestEmail(hal, 'hal@example.com');
    assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code: otherThan(first.code) }, hal), 4);
    const second = await requestEmail(hal, 'hal.other@example.com');
    assert.equal((await pendingRow(hal, 'EMAIL'))?.attempts, 0);
    assert.equal((await pendingRow(hal, 'EMAIL'))?.sends, 2);
    if (first.code !== second.code) {
      assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code: first.code }, hal), 4);
    }
    await kit.ok(CONFIRM_EMAIL, { code: second.code }, hal);
    assert.deepEqual(await me(hal), { email: 'hal.other@example.com', phone: null, version: 2 });
  });

  it('allows five sends an hour per kind, then RATE_LIMITED until the window ends', async () => {
    const ivy = await account();
    for (let send = 1; send <= 5; send++) await requestEmail(ivy, 'ivy@example.com');
    const before = await pendingRow(ivy, 'EMAIL');
    const limited = await kit.refusal(REQUEST_EMAIL, { value: 'ivy@example.com' }, ivy);
    assert.equal(limited.extensions.code, 'RATE_LIMITED');
    const retryAfter = limited.extensions.retryAfterSeconds as number;
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter > 3500 && retryAfter <= 3600,
      `retryAfterSeconds ${retryAfter}`,
    );
    assert.equal(readdirSync(outbox).filter((name) => !seen.has(name)).length, 0, 'nothing is sent beyond the limit');
    // The refused request replaced nothing: the last code stands.
    assert.deepEqual(await pendingRow(ivy, 'EMAIL'), before);
    assert.equal(before?.sends, 5);

    // The phone has its own count.
    await kit.ok(REQUEST_PHONE, { value: '+15550100001' }, ivy);
    takeMessage('+15550100001');

    // A window older than an hour starts again.
    await kit.runtime.db.prisma.contactChange.update({
      where: { userId_kind: { userId: BigInt(ivy.id), kind: 'EMAIL' } },
      data: { createdAt: new Date(Date.now() - 61 * 60_000) },
    });
    const { code } = await requestEmail(ivy, 'ivy@example.com');
    const restarted = await pendingRow(ivy, 'EMAIL');
    assert.equal(restarted?.sends, 1);
    assert.ok(Date.now() - restarted!.createdAt.getTime() < 60_000);
    await kit.ok(CONFIRM_EMAIL, { code }, ivy);
  });

  it('does not tell whether an address is taken before confirmation, and refuses it then with CONFLICT', async () => {
    const jo = await account();
    const kim = await account();
    const taken = await requestEmail(jo, 'shared@example.com');
    await kit.ok(CONFIRM_EMAIL, { code: taken.code }, jo);

    // Kim asks for Jo's address: answered like any other request.
    const asked = await requestEmail(kim, 'Shared@Example.com', 'shared@example.com');
    assert.equal(asked.sentTo, 's***@example.com');
    const conflict = await kit.refusal(CONFIRM_EMAIL, { code: asked.code }, kim);
    assert.deepEqual([conflict.message, conflict.extensions], ['This address cannot be used.', { code: 'CONFLICT' }]);
    assert.equal(await pendingRow(kim, 'EMAIL'), null);
    assert.deepEqual(await me(kim), { email: null, phone: null, version: 1 });
    assert.equal((await me(jo)).email, 'shared@example.com');

    // Both ask for a free address; the first to confirm gets it.
    const forJo = await requestEmail(jo, 'race@example.com');
    const forKim = await requestEmail(kim, 'race@example.com');
    await kit.ok(CONFIRM_EMAIL, { code: forKim.code }, kim);
    const late = await kit.refusal(CONFIRM_EMAIL, { code: forJo.code }, jo);
    assert.equal(late.extensions.code, 'CONFLICT');
    assert.deepEqual(await me(jo), { email: 'shared@example.com', phone: null, version: 2 });
    assert.deepEqual(await me(kim), { email: 'race@example.com', phone: null, version: 2 });
  });

  it('refuses invalid email addresses without sending anything', async () => {
    const lou = await account();
    for (const value of ['', 'not-an-email', 'two@@example.com', 'no-domain@', `${'x'.repeat(243)}@example.com`]) {
      const error = await kit.refusal(REQUEST_EMAIL, { value }, lou);
      assert.equal(error.extensions.code, 'BAD_USER_INPUT', value);
      assert.deepEqual(
        (error.extensions.issues as { path: string }[]).map((issue) => issue.path),
        ['newEmail'],
        value,
      );
    }
    assert.equal(await pendingRow(lou, 'EMAIL'), null);
    assert.equal(readdirSync(outbox).filter((name) => !seen.has(name)).length, 0);
    // 254 characters is allowed.
    const longest = `${'x'.repeat(242)}@example.com`;
    assert.equal(longest.length, 254);
    await requestEmail(lou, longest);
  });

  it('changes the phone number the same way, by SMS', async () => {
    const max = await account();
    for (const value of ['12345678', '+0123456789', '+1234567', '+1234567890123456', '+44 77OO 900123', '']) {
      const error = await kit.refusal(REQUEST_PHONE, { value }, max);
      assert.equal(error.extensions.code, 'BAD_USER_INPUT', value);
    }
    assert.equal(await pendingRow(max, 'PHONE'), null);

    const data = await kit.ok<{ requestPhoneChange: { sentTo: string } }>(
      REQUEST_PHONE,
      { value: '+44 (7700) 900-123' },
      max,
    );
    assert.equal(data.requestPhoneChange.sentTo, '+44*******123');
    const message = takeMessage('+447700900123');
    assert.equal(message.channel, 'SMS');
    const code = codeIn(message);

    assertInvalidCode(await kit.refusal(CONFIRM_PHONE, { code: otherThan(code) }, max), 4);
    // The email's confirmation knows nothing of the phone's code.
    assertInvalidCode(await kit.refusal(CONFIRM_EMAIL, { code }, max), 0);
    const confirmed = await kit.ok<{ confirmPhoneChange: Me }>(CONFIRM_PHONE, { code }, max);
    assert.deepEqual(confirmed.confirmPhoneChange, {
      id: max.id,
      email: null,
      phone: '+447700900123',
      version: 2,
    } as unknown);
    assertInvalidCode(await kit.refusal(CONFIRM_PHONE, { code }, max), 0);
    const unchanged = await kit.refusal(REQUEST_PHONE, { value: '+447700900123' }, max);
    assert.equal(unchanged.extensions.reason, 'UNCHANGED');

    // Another account cannot take the number.
    const ned = await account();
    await kit.ok(REQUEST_PHONE, { value: '+447700900123' }, ned);
    const nedCode = codeIn(takeMessage('+447700900123'));
    const conflict = await kit.refusal(CONFIRM_PHONE, { code: nedCode }, ned);
    assert.equal(conflict.extensions.code, 'CONFLICT');
    assert.equal((await me(ned)).phone, null);
  });

  it('refuses anonymous callers', async () => {
    for (const [query, variables] of [
      [REQUEST_EMAIL, { value: 'anon@example.com' }],
      [CONFIRM_EMAIL, { code: '123456' }],
      [REQUEST_PHONE, { value: '+15550100002' }],
      [CONFIRM_PHONE, { code: '123456' }],
    ] as const) {
      const error = await kit.refusal(query, variables);
      assert.equal(error.extensions.code, 'UNAUTHENTICATED');
    }
    assert.equal(readdirSync(outbox).filter((name) => !seen.has(name)).length, 0);
  });

  it('expires codes after 15 minutes by the service clock, and answers UNAVAILABLE when a code cannot be sent', async () => {
    const pat = await account();
    const viewer = { id: pat.id, username: 'pat', sessionId: '1' };
    const store = new ContactChangeStore(kit.runtime.db.prisma, kit.runtime.cache);
    const sent: OutgoingMessage[] = [];
    const recorder: MessageSender = { send: async (message) => void sent.push(message), close: async () => {} };
    let now = new Date();
    const service = new ContactChangeService(
      viewer,
      store,
      recorder,
      contactCodeKey(kit.runtime.config.secrets.passwordPepper!),
      () => now,
    );

    const request = await service.requestEmailChange('pat@example.com');
    assert.equal(request.expiresAt.getTime(), now.getTime() + 15 * 60_000);
    const code = codeIn(sent[0]!);
    now = new Date(request.expiresAt.getTime());
    await assert.rejects(service.confirmEmailChange(code), (error: { extensions: Record<string, unknown> }) => {
      assertInvalidCode(error, 0);
      return true;
    });
    now = new Date(request.expiresAt.getTime() - 1);
    assert.equal((await service.confirmEmailChange(code)).email, 'pat@example.com');

    const broken: MessageSender = {
      send: async () => {
        throw new Error('connection refused');
      },
      close: async () => {},
    };
    const failing = new ContactChangeService(
      viewer,
      store,
      broken,
      contactCodeKey(kit.runtime.config.secrets.passwordPepper!),
    );
    const level = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'silent';
    try {
      await assert.rejects(
        failing.requestPhoneChange('+15550100003'),
        (error: { extensions: Record<string, unknown> }) => {
          assert.equal(error.extensions.code, 'UNAVAILABLE');
          return true;
        },
      );
    } finally {
      if (level === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = level;
    }
  });

  it('masks where the code went', () => {
    assert.equal(maskEmail('alice@example.com'), 'a***@example.com');
    assert.equal(maskEmail('a@b.example'), 'a***@b.example');
    assert.equal(maskPhone('+44123456789'), '+44******789');
    assert.equal(maskPhone('+12345678'), '+12***678');
  });
});

describe('message senders', () => {
  it('writes outbox messages as whole JSON files, creating the directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'chat-outbox-'));
    try {
      const dir = join(root, 'nested', 'outbox');
      const sender = new DevOutboxSender(dir);
      await Promise.all(
        [1, 2, 3].map((n) => sender.send({ channel: 'EMAIL', to: `n${n}@example.com`, subject: 'S', text: `T${n}` })),
      );
      const names = readdirSync(dir);
      assert.equal(names.length, 3);
      for (const name of names) {
        assert.match(name, /^\d{13}-[0-9a-f]{12}\.json$/);
        const entry = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
        assert.deepEqual(Object.keys(entry).sort(), ['channel', 'sentAt', 'subject', 'text', 'to']);
      }
      await sender.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('opens SMTP when configured, the outbox otherwise, and warns in production without SMTP', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const level = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'info';
    process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const settings = { from: 'Chat <no-reply@chat.invalid>', outboxDir: join(tmpdir(), 'unused-outbox') };
      const development = openMessageSender({ ...settings, smtpUrl: undefined });
      assert.ok(development instanceof DevOutboxSender);
      assert.equal(lines.length, 0);

      const production = openMessageSender({ ...settings, smtpUrl: undefined, production: true });
      assert.ok(production instanceof DevOutboxSender);
      assert.ok(
        lines.some((line) => /"level":"warn".*SMTP_URL is not set/.test(line)),
        lines.join(''),
      );

      lines.length = 0;
      const smtp = openMessageSender({ ...settings, smtpUrl: 'smtp://user:secret@127.0.0.1:2525', production: true });
      assert.ok(smtp instanceof SmtpSender);
      assert.ok(!lines.some((line) => line.includes('SMTP_URL is not set')));
      assert.ok(!lines.some((line) => line.includes('secret')), 'the SMTP credentials are not logged');
      await smtp.close();
    } finally {
      process.stderr.write = write;
      if (level === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = level;
    }
  });
});
