/**
 * Email and phone changes through the real gateway over HTTP: codes read from
 * the development outbox of an embedded gateway, and emails caught by a real
 * SMTP server (smtp-server) when SMTP_URL is set.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { gql, gqlOk } from '../kit/client.ts';
import { addMigratedDatabase, freePort, launch, tempDataDir, type Process } from '../kit/launcher.ts';
import { registerUser, type TestUser } from '../kit/seed.ts';

const REQUEST_EMAIL = 'mutation ($value: String!) { requestEmailChange(newEmail: $value) { sentTo expiresAt } }';
const CONFIRM_EMAIL = 'mutation ($code: String!) { confirmEmailChange(code: $code) { id email version } }';
const REQUEST_PHONE = 'mutation ($value: String!) { requestPhoneChange(newPhone: $value) { sentTo expiresAt } }';
const CONFIRM_PHONE = 'mutation ($code: String!) { confirmPhoneChange(code: $code) { id phone version } }';
const ME = '{ me { email phone version } }';
const MAIL_FROM = 'Chat Tests <no-reply@chat.test>';

interface Message {
  to: string;
  subject: string;
  text: string;
}

let phones = 0;
/** A phone number no other test of this process uses. */
const freshPhone = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++phones).padStart(4, '0')}`;

const codeIn = (message: Message): string => {
  const match = /\b(\d{6})\b/.exec(message.text);
  assert.ok(match, `no code in ${JSON.stringify(message.text)}`);
  return match[1]!;
};

/** The development outbox of one gateway: each message taken once. */
class Outbox {
  readonly #seen = new Set<string>();
  constructor(readonly dir: string) {}

  /** The one new message to `to` (the mutation that sent it has answered, so it is written). */
  take(to: string): Message & { channel: string } {
    const names = existsSync(this.dir)
      ? readdirSync(this.dir).filter((name) => name.endsWith('.json') && !this.#seen.has(name))
      : [];
    const mine = names
      .map((name) => ({
        name,
        message: JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Message & { channel: string },
      }))
      .filter(({ message }) => message.to === to);
    assert.equal(mine.length, 1, `expected one new outbox message to ${to}, found ${mine.length}`);
    this.#seen.add(mine[0]!.name);
    return mine[0]!.message;
  }

  /** Messages to `to` not taken yet. */
  pending(to: string): number {
    if (!existsSync(this.dir)) return 0;
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.json') && !this.#seen.has(name))
      .filter((name) => (JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Message).to === to).length;
  }
}

/** A real SMTP server on loopback, no TLS, no authentication, keeping every mail parsed. */
class MailCatcher {
  readonly mails: (Message & { from: string; envelopeTo: string[] })[] = [];
  readonly #taken = new Set<number>();
  readonly #server: SMTPServer;
  port = 0;

  constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            this.mails.push({
              to: session.envelope.rcptTo.map((address) => address.address).join(','),
              envelopeTo: session.envelope.rcptTo.map((address) => address.address),
              from: mail.from?.value.map((address) => `${address.name} <${address.address}>`).join(', ') ?? '',
              subject: mail.subject ?? '',
              text: mail.text ?? '',
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
  }

  async start(): Promise<string> {
    this.port = await freePort();
    await new Promise<void>((resolve) => this.#server.listen(this.port, '127.0.0.1', resolve));
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** The one new mail to `to`, waiting a little for it. */
  async take(to: string): Promise<MailCatcher['mails'][number]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const fresh = this.mails
        .map((mail, index) => ({ mail, index }))
        .filter(({ mail, index }) => mail.to === to && !this.#taken.has(index));
      if (fresh.length > 1) assert.fail(`expected one new mail to ${to}, found ${fresh.length}`);
      if (fresh[0]) {
        this.#taken.add(fresh[0].index);
        return fresh[0].mail;
      }
      if (Date.now() > deadline) assert.fail(`no mail to ${to}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(resolve));
  }
}

type Refusal = { message: string; extensions?: Record<string, unknown> };

async function refused(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<Refusal> {
  const result = await gql(url, query, variables, token);
  assert.equal(result.errors?.length, 1, JSON.stringify(result));
  assert.equal(result.data ?? null, null);
  return result.errors![0]!;
}

const assertInvalidCode = (error: Refusal, attemptsLeft: number) => {
  assert.equal(error.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(error));
  assert.equal(error.extensions?.reason, 'INVALID_CODE');
  assert.equal(error.extensions?.attemptsLeft, attemptsLeft);
};

const otherThan = (code: string) => (code === '000000' ? '111111' : '000000');

const me = async (url: string, user: TestUser) =>
  (await gqlOk<{ me: { email: string | null; phone: string | null; version: number } }>(url, ME, {}, user.token)).me;

/** The checks both email deliveries share; `codeFor` reads the code sent to an address. */
function emailFlow(gatewayUrl: () => string, codeFor: (to: string) => Promise<string>) {
  it('changes the email once the code is confirmed, and only then', async () => {
    const url = gatewayUrl();
    const user = await registerUser(url, 'mail');
    const address = `${user.username}@example.com`;
    const requested = await gqlOk<{ requestEmailChange: { sentTo: string; expiresAt: string } }>(
      url,
      REQUEST_EMAIL,
      { value: ` ${address.toUpperCase()} ` },
      user.token,
    );
    assert.equal(requested.requestEmailChange.sentTo, `${address[0]}***@example.com`);
    assert.ok(Date.parse(requested.requestEmailChange.expiresAt) > Date.now() + 14 * 60_000);
    const code = await codeFor(address);
    assert.deepEqual(await me(url, user), { email: null, phone: null, version: 1 });

    const confirmed = await gqlOk<{ confirmEmailChange: { id: string; email: string; version: number } }>(
      url,
      CONFIRM_EMAIL,
      { code },
      user.token,
    );
    assert.deepEqual(confirmed.confirmEmailChange, { id: user.id, email: address, version: 2 });
    assert.deepEqual(await me(url, user), { email: address, phone: null, version: 2 });

    // Used once: the same code again is refused and nothing changes.
    assertInvalidCode(await refused(url, CONFIRM_EMAIL, { code }, user.token), 0);
    assert.deepEqual(await me(url, user), { email: address, phone: null, version: 2 });
  });

  it('refuses wrong and replaced codes with INVALID_CODE, changing nothing', async () => {
    const url = gatewayUrl();
    const user = await registerUser(url, 'wrong');
    const address = `${user.username}@example.com`;
    await gqlOk(url, REQUEST_EMAIL, { value: address }, user.token);
    const first = await codeFor(address);
    assertInvalidCode(await refused(url, CONFIRM_EMAIL, { code: otherThan(first) }, user.token), 4);
    assertInvalidCode(await refused(url, CONFIRM_EMAIL, { code: otherThan(first) }, user.token), 3);
    assert.deepEqual(await me(url, user), { email: null, phone: null, version: 1 });

    // Asking again replaces the code: the first one no longer works, the attempts start over.
    await gqlOk(url, REQUEST_EMAIL, { value: address }, user.token);
    const second = await codeFor(address);
    if (second !== first) assertInvalidCode(await refused(url, CONFIRM_EMAIL, { code: first }, user.token), 4);
    assert.deepEqual(await me(url, user), { email: null, phone: null, version: 1 });
    await gqlOk(url, CONFIRM_EMAIL, { code: second }, user.token);
    assert.deepEqual(await me(url, user), { email: address, phone: null, version: 2 });
  });

  it('does not tell that an address is taken until its code is confirmed (CONFLICT)', async () => {
    const url = gatewayUrl();
    const owner = await registerUser(url, 'owner');
    const other = await registerUser(url, 'other');
    const address = `${owner.username}@example.com`;
    await gqlOk(url, REQUEST_EMAIL, { value: address }, owner.token);
    await gqlOk(url, CONFIRM_EMAIL, { code: await codeFor(address) }, owner.token);

    const asked = await gql<{ requestEmailChange: { sentTo: string } }>(
      url,
      REQUEST_EMAIL,
      { value: address },
      other.token,
    );
    assert.equal(asked.errors, undefined);
    assert.equal(asked.data?.requestEmailChange.sentTo, `${address[0]}***@example.com`);
    const conflict = await refused(url, CONFIRM_EMAIL, { code: await codeFor(address) }, other.token);
    assert.equal(conflict.extensions?.code, 'CONFLICT');
    assert.equal(conflict.message, 'This address cannot be used.');
    assert.deepEqual(await me(url, other), { email: null, phone: null, version: 1 });
  });
}

/** Phone numbers: SMS always land in the outbox, whatever carries email. */
function phoneFlow(gatewayUrl: () => string, outbox: () => Outbox) {
  it('changes the phone number with the code sent by SMS to the outbox', async () => {
    const url = gatewayUrl();
    const user = await registerUser(url, 'phone');
    const phone = freshPhone();
    const spaced = `${phone.slice(0, 2)} (${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
    const requested = await gqlOk<{ requestPhoneChange: { sentTo: string } }>(
      url,
      REQUEST_PHONE,
      { value: spaced },
      user.token,
    );
    assert.equal(
      requested.requestPhoneChange.sentTo,
      `${phone.slice(0, 3)}${'*'.repeat(phone.length - 6)}${phone.slice(-3)}`,
    );
    const sms = outbox().take(phone);
    assert.equal(sms.channel, 'SMS');
    const code = codeIn(sms);

    assertInvalidCode(await refused(url, CONFIRM_PHONE, { code: otherThan(code) }, user.token), 4);
    assert.equal((await me(url, user)).phone, null);
    const confirmed = await gqlOk<{ confirmPhoneChange: { phone: string; version: number } }>(
      url,
      CONFIRM_PHONE,
      { code },
      user.token,
    );
    assert.deepEqual(confirmed.confirmPhoneChange, { id: user.id, phone, version: 2 });
    assertInvalidCode(await refused(url, CONFIRM_PHONE, { code }, user.token), 0);
    assert.deepEqual(await me(url, user), { email: null, phone, version: 2 });

    const invalid = await refused(url, REQUEST_PHONE, { value: '12345' }, user.token);
    assert.equal(invalid.extensions?.code, 'BAD_USER_INPUT');
  });
}

describe('contact changes: embedded gateway, codes in the development outbox', () => {
  const data = tempDataDir();
  const outbox = new Outbox(join(data.path, 'outbox'));
  let gateway: Process;

  before(async () => {
    await addMigratedDatabase(data.path);
    gateway = await launch('gateway', 'gateway/src/main.ts', { DATA_DIR: data.path }, await freePort());
  });
  after(async () => {
    await gateway?.stop();
    data.remove();
  });

  emailFlow(
    () => gateway.url,
    async (to) => {
      const message = outbox.take(to);
      assert.equal(message.channel, 'EMAIL');
      assert.equal(message.subject, 'Your confirmation code');
      return codeIn(message);
    },
  );
  phoneFlow(
    () => gateway.url,
    () => outbox,
  );

  it('logs where a message went, never the code', async () => {
    const user = await registerUser(gateway.url, 'logged');
    const address = `${user.username}@example.com`;
    await gqlOk(gateway.url, REQUEST_EMAIL, { value: address }, user.token);
    const code = codeIn(outbox.take(address));
    const lines = gateway
      .output()
      .split('\n')
      .filter((line) => line.includes('development outbox'));
    assert.ok(lines.length > 0);
    assert.ok(!gateway.output().includes(code), 'the code is not logged');
  });
});

describe('contact changes: gateway with SMTP_URL, emails through a real SMTP server', () => {
  const data = tempDataDir();
  const outbox = new Outbox(join(data.path, 'outbox'));
  const smtp = new MailCatcher();
  let gateway: Process;

  before(async () => {
    const smtpUrl = await smtp.start();
    await addMigratedDatabase(data.path);
    gateway = await launch(
      'gateway',
      'gateway/src/main.ts',
      { DATA_DIR: data.path, SMTP_URL: smtpUrl, MAIL_FROM },
      await freePort(),
    );
  });
  after(async () => {
    await gateway?.stop();
    await smtp.close();
    data.remove();
  });

  emailFlow(
    () => gateway.url,
    async (to) => {
      const mail = await smtp.take(to);
      assert.deepEqual(mail.envelopeTo, [to]);
      assert.equal(mail.from, MAIL_FROM);
      assert.equal(mail.subject, 'Your confirmation code');
      // Nothing for this address went to the outbox.
      assert.equal(outbox.pending(to), 0);
      return codeIn(mail);
    },
  );
  phoneFlow(
    () => gateway.url,
    () => outbox,
  );
});

describe('contact changes: a gateway whose codes last one second', () => {
  const data = tempDataDir();
  const outbox = new Outbox(join(data.path, 'outbox'));
  let gateway: Process;

  before(async () => {
    await addMigratedDatabase(data.path);
    gateway = await launch(
      'gateway',
      'gateway/src/main.ts',
      { DATA_DIR: data.path, CONTACT_CODE_TTL_SECONDS: '1' },
      await freePort(),
    );
  });
  after(async () => {
    await gateway?.stop();
    data.remove();
  });

  it('refuses an expired code, and changes nothing', async () => {
    const user = await registerUser(gateway.url, 'late');
    const address = `late.${Date.now().toString(36)}@example.com`;
    await gqlOk(gateway.url, REQUEST_EMAIL, { value: address }, user.token);
    const code = codeIn(outbox.take(address));
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    assertInvalidCode(await refused(gateway.url, CONFIRM_EMAIL, { code }, user.token), 0);
    assert.equal((await me(gateway.url, user)).email, null);
  });
});
