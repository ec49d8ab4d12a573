import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSubgraphTestkit, plain, type SubgraphTestkit } from '@chat/common/testing';
import { createUsersSubgraph } from './index.ts';
import { hashPassword, PasswordHasher } from './services/password.ts';

const PAYLOAD = 'accessToken accessTokenExpiresAt refreshToken session { id deviceName current } user { id username }';
const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { ${PAYLOAD} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${PAYLOAD} } }`;
const REFRESH = `mutation ($token: String!) { refreshToken(refreshToken: $token) { ${PAYLOAD} } }`;
const SESSIONS = '{ sessions { id deviceName current createdAt lastUsedAt expiresAt } }';
const PASSWORD = 'correct horse battery';

interface Payload {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  session: { id: string; deviceName: string | null; current: boolean };
  user: { id: string; username: string };
}

/** A payload with `auth`, its access token as a client sends it (as a seeded user has). */
type Signed = Payload & { auth: string };
const signed = (payload: Payload): Signed => ({ ...payload, auth: `Bearer ${payload.accessToken}` });

describe('sessions: refresh rotation, logout, password changes', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createUsersSubgraph>>;
  let next = 0;

  before(async () => {
    kit = await createSubgraphTestkit(createUsersSubgraph);
  });
  after(() => kit.close());

  // Through the API, not the kit's seed: these sessions start from a real password (others are seeded).
  const register = async (deviceName?: string): Promise<Signed> => {
    const input = { username: `sess_${++next}`, password: PASSWORD, displayName: 'S', deviceName };
    return signed((await kit.ok(REGISTER, { input })).register);
  };
  const login = async (username: string, deviceName?: string, password = PASSWORD): Promise<Signed> =>
    signed((await kit.ok(LOGIN, { input: { username, password, deviceName } })).login);
  const refresh = async (token: string): Promise<Signed> => signed((await kit.ok(REFRESH, { token })).refreshToken);
  /** Whether `auth` (an access token) still opens the API (its session goes on). */
  const works = async (auth: string) => (await kit.run('{ me { id } }', {}, auth)).errors === undefined;

  it('starts a session per login, each listed for its user with the current one marked', async () => {
    const phone = await register("Ann's phone");
    const laptop = await login(phone.user.username, 'Laptop');
    assert.notEqual(phone.session.id, laptop.session.id);
    assert.equal(phone.session.current, true);
    const expiresIn = Date.parse(phone.accessTokenExpiresAt) - Date.now();
    assert.ok(expiresIn > 890_000 && expiresIn <= 900_000, `access token lasts ${expiresIn} ms`);

    const { sessions } = await kit.ok(SESSIONS, {}, laptop.auth);
    assert.deepEqual(
      sessions.map((session: { deviceName: string; current: boolean }) => [session.deviceName, session.current]),
      [
        ['Laptop', true],
        ["Ann's phone", false],
      ],
    );
    const other = await kit.seed.user('other');
    assert.equal((await kit.ok(SESSIONS, {}, other.auth)).sessions.length, 1, 'sessions are per user');
  });

  it('rotates refresh tokens: each works once, and the new access token names the same session', async () => {
    const first = await register();
    const second = await refresh(first.refreshToken);
    assert.equal(second.session.id, first.session.id);
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.ok(await works(second.auth));
    const third = await refresh(second.refreshToken);
    assert.equal(third.session.id, first.session.id);
    const stored = await kit.runtime.db.prisma.refreshToken.findMany({
      where: { sessionId: BigInt(first.session.id) },
    });
    assert.equal(stored.length, 3);
    assert.equal(stored.filter((row) => row.usedAt === null).length, 1, 'only the newest token is unused');
  });

  it('ends the whole session when a rotated refresh token is presented again', async () => {
    const user = await register();
    const elsewhere = await login(user.user.username);
    const stolen = user.refreshToken;
    const legit = await refresh(stolen);
    const replay = await kit.refusal(REFRESH, { token: stolen });
    assert.equal(replay.extensions.code, 'UNAUTHENTICATED');
    assert.equal(replay.extensions.reason, 'SESSION_ENDED');
    // Everything descended from that login is dead: the new refresh token and the access tokens.
    assert.equal((await kit.refusal(REFRESH, { token: legit.refreshToken })).extensions.code, 'UNAUTHENTICATED');
    assert.equal(await works(legit.auth), false);
    assert.equal(await works(user.auth), false);
    // Another device's session is not touched.
    assert.ok(await works(elsewhere.auth));
    const row = await kit.runtime.db.prisma.authSession.findUniqueOrThrow({ where: { id: BigInt(user.session.id) } });
    assert.equal(row.endReason, 'REFRESH_REUSED');
  });

  it('lets only one of two concurrent exchanges of one token win, and then ends the session', async () => {
    const user = await register();
    const results = await Promise.all([
      kit.run(REFRESH, { token: user.refreshToken }),
      kit.run(REFRESH, { token: user.refreshToken }),
    ]);
    assert.equal(results.filter((result) => !result.errors).length, 1, JSON.stringify(results));
    const winner = signed(plain(results.find((result) => !result.errors)!.data).refreshToken);
    assert.equal(await works(winner.auth), false, 'the reuse ended the session');
  });

  it('refuses unknown, empty and oversized refresh tokens alike', async () => {
    for (const token of ['not-a-token', '', 'x'.repeat(10_000)]) {
      const error = await kit.refusal(REFRESH, { token });
      assert.equal(error.extensions.code, 'UNAUTHENTICATED', token.slice(0, 20));
    }
  });

  it('logs out this device only, everywhere, or one chosen device', async () => {
    const user = await register('one');
    const two = await login(user.user.username, 'two');
    const three = await login(user.user.username, 'three');

    assert.deepEqual(await kit.ok('mutation { logout }', {}, user.auth), { logout: true });
    assert.equal(await works(user.auth), false);
    assert.equal((await kit.refusal(REFRESH, { token: user.refreshToken })).extensions.code, 'UNAUTHENTICATED');
    assert.ok(await works(two.auth));

    const missing = await kit.refusal('mutation ($id: ID!) { endSession(id: $id) }', { id: user.session.id }, two.auth);
    assert.equal(missing.extensions.code, 'NOT_FOUND', 'an ended session cannot be ended again');
    const stranger = await kit.seed.user('stranger');
    const foreign = await kit.refusal(
      'mutation ($id: ID!) { endSession(id: $id) }',
      { id: two.session.id },
      stranger.auth,
    );
    assert.equal(foreign.extensions.code, 'NOT_FOUND', "someone else's session is not found");
    assert.ok(await works(two.auth));

    await kit.ok('mutation ($id: ID!) { endSession(id: $id) }', { id: three.session.id }, two.auth);
    assert.equal(await works(three.auth), false);

    const four = await login(user.user.username, 'four');
    assert.deepEqual(await kit.ok('mutation { logoutEverywhere }', {}, two.auth), { logoutEverywhere: true });
    assert.equal(await works(two.auth), false);
    assert.equal(await works(four.auth), false);
    assert.equal((await kit.refusal(REFRESH, { token: four.refreshToken })).extensions.code, 'UNAUTHENTICATED');
    assert.equal(await works(stranger.auth), true);
  });

  it('changes the password, ending every other session but keeping this one', async () => {
    const user = await register();
    const other = await login(user.user.username);
    const change = 'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) }';

    const wrong = await kit.refusal(
      change,
      { input: { currentPassword: 'not it', newPassword: 'a new password' } },
      user.auth,
    );
    assert.equal(wrong.extensions.code, 'UNAUTHENTICATED');
    const short = await kit.refusal(change, { input: { currentPassword: PASSWORD, newPassword: 'short' } }, user.auth);
    assert.equal(short.extensions.code, 'BAD_USER_INPUT');
    assert.ok(await works(other.auth), 'refusals change nothing');

    assert.deepEqual(
      await kit.ok(change, { input: { currentPassword: PASSWORD, newPassword: 'a new password' } }, user.auth),
      { changePassword: true },
    );
    assert.ok(await works(user.auth));
    assert.equal(await works(other.auth), false);
    assert.equal(
      (await kit.refusal(LOGIN, { input: { username: user.user.username, password: PASSWORD } })).extensions.code,
      'UNAUTHENTICATED',
    );
    await login(user.user.username, undefined, 'a new password');
  });

  it('hashes with argon2id and the pepper, and re-hashes older hashes at login', async () => {
    const user = await register();
    const row = () => kit.runtime.db.prisma.user.findUniqueOrThrow({ where: { id: BigInt(user.user.id) } });
    const current = (await row()).passwordHash;
    assert.match(current, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    // The pepper is part of the hash: the same hash does not verify without it.
    const otherPepper = new PasswordHasher({ pepper: new Uint8Array(32).fill(7) });
    assert.equal((await otherPepper.verify(PASSWORD, current)).ok, false);

    // An account from before argon2id (unpeppered scrypt) logs in and is upgraded.
    await kit.runtime.db.prisma.user.update({
      where: { id: BigInt(user.user.id) },
      data: { passwordHash: await hashPassword(PASSWORD) },
    });
    await login(user.user.username);
    assert.match((await row()).passwordHash, /^\$argon2id\$/);

    // Hashes made with weaker parameters are replaced too.
    const weak = new PasswordHasher({
      pepper: kit.runtime.config.secrets.passwordPepper!,
      params: { memoryCost: 8192, timeCost: 1, parallelism: 1 },
    });
    await kit.runtime.db.prisma.user.update({
      where: { id: BigInt(user.user.id) },
      data: { passwordHash: await weak.hash(PASSWORD) },
    });
    await login(user.user.username);
    assert.match((await row()).passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('accepts the previous pepper during a change of pepper, re-hashing with the new one', async () => {
    const oldPepper = new Uint8Array(32).fill(1);
    const newPepper = new Uint8Array(32).fill(2);
    const before = new PasswordHasher({ pepper: oldPepper });
    const during = new PasswordHasher({ pepper: newPepper, previousPepper: oldPepper });
    const hash = await before.hash(PASSWORD);
    assert.deepEqual(await during.verify(PASSWORD, hash), { ok: true, needsRehash: true });
    assert.deepEqual(await during.verify('wrong', hash), { ok: false, needsRehash: false });
    assert.deepEqual(await during.verify(PASSWORD, await during.hash(PASSWORD)), { ok: true, needsRehash: false });
  });
});
