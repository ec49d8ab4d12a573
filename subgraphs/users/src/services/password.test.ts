import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it('encodes scrypt parameters, a 16-byte salt and a 64-byte key', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.match(hash, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    const [, , , , salt, key] = hash.split('$');
    assert.equal(Buffer.from(salt ?? '', 'base64url').length, 16);
    assert.equal(Buffer.from(key ?? '', 'base64url').length, 64);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword('correct horse battery staple', hash), true);
    assert.equal(await verifyPassword('correct horse battery stapl', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    assert.notEqual(a, b);
  });

  it('reads the parameters from the hash, so they can change later', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('old password', salt, 32, { N: 2 ** 10, r: 4, p: 2 });
    const old = `scrypt$10$4$2$${salt.toString('base64url')}$${key.toString('base64url')}`;
    assert.equal(await verifyPassword('old password', old), true);
    assert.equal(await verifyPassword('new password', old), false);
  });

  it('compares passwords in Unicode NFC', async () => {
    const hash = await hashPassword('caf\u00e9-p\u00e4ss');
    assert.equal(await verifyPassword('cafe\u0301-pa\u0308ss', hash), true);
  });

  it('refuses a stored value that is not a hash it made', async () => {
    for (const bad of [
      '',
      'plain',
      'bcrypt$10$abc',
      'scrypt$15$8$1$c2FsdA',
      'scrypt$x$8$1$c2FsdA$a2V5',
      'scrypt$99$8$1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5',
    ]) {
      await assert.rejects(verifyPassword('whatever', bad), /malformed password hash/, bad);
    }
  });
});
