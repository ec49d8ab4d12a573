import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { supportedMimeTypes } from 'file-type';
import {
  canonicalType,
  checkDeclared,
  isTextType,
  kindOf,
  limitsTable,
  MAX_UPLOAD_BYTES,
  MEDIA_LIMITS,
} from './limits.ts';

const MiB = 1024 * 1024;

describe('limits', () => {
  it('names the kind of each accepted type, whatever its spelling', () => {
    assert.equal(kindOf('image/jpeg'), 'IMAGE');
    assert.equal(kindOf('Image/JPG'), 'IMAGE');
    assert.equal(kindOf('image/webp'), 'IMAGE');
    assert.equal(kindOf('image/gif'), 'GIF');
    assert.equal(kindOf('video/quicktime'), 'VIDEO');
    assert.equal(kindOf('application/pdf'), 'FILE');
    assert.equal(kindOf('text/plain; charset=utf-8'), 'FILE');
    assert.equal(kindOf('application/x-zip-compressed'), 'FILE');
    assert.equal(kindOf('audio/x-m4a'), 'FILE');
    for (const refused of [
      'image/svg+xml',
      'text/html',
      'application/x-msdownload',
      'application/octet-stream',
      'application/msword',
      'image/heic',
      '',
    ]) {
      assert.equal(kindOf(refused), null, refused);
    }
  });

  it('gives each type one kind, and every type but text a signature file-type recognises', () => {
    const seen = new Map<string, string>();
    for (const kinds of Object.values(MEDIA_LIMITS)) {
      for (const [kind, limits] of Object.entries(kinds)) {
        for (const type of limits.types) {
          assert.equal(seen.get(type) ?? kind, kind, `${type} is in two kinds`);
          seen.set(type, kind);
          assert.equal(canonicalType(type), type, `${type} is not canonical`);
          if (!isTextType(type)) assert.ok(supportedMimeTypes.has(type as never), `file-type cannot recognise ${type}`);
        }
      }
    }
    assert.deepEqual([...seen.keys()].filter(isTextType), ['text/plain', 'text/csv', 'text/markdown']);
  });

  it('accepts what fits, with the canonical type and the limits', () => {
    const image = checkDeclared({ contentType: 'image/jpg', size: 20 * MiB, purpose: 'MESSAGE_ATTACHMENT' });
    assert.ok(image.ok);
    assert.equal(image.kind, 'IMAGE');
    assert.equal(image.contentType, 'image/jpeg');
    assert.equal(image.limits.maxSide, 12_000);
    assert.ok(checkDeclared({ contentType: 'video/mp4', size: 100 * MiB, purpose: 'MESSAGE_ATTACHMENT' }).ok);
    assert.ok(checkDeclared({ contentType: 'image/gif', size: 5 * MiB, purpose: 'AVATAR' }).ok);
    assert.equal(MAX_UPLOAD_BYTES, 100 * MiB);
  });

  it('refuses early, per purpose: UNSUPPORTED_TYPE, TOO_LARGE, EMPTY', () => {
    const cases = [
      [{ contentType: 'image/png', size: 20 * MiB + 1, purpose: 'MESSAGE_ATTACHMENT' }, 'TOO_LARGE', 20 * MiB],
      [{ contentType: 'image/gif', size: 15 * MiB + 1, purpose: 'MESSAGE_ATTACHMENT' }, 'TOO_LARGE', 15 * MiB],
      [{ contentType: 'video/webm', size: 100 * MiB + 1, purpose: 'MESSAGE_ATTACHMENT' }, 'TOO_LARGE', 100 * MiB],
      [{ contentType: 'application/pdf', size: 100 * MiB + 1, purpose: 'MESSAGE_ATTACHMENT' }, 'TOO_LARGE', 100 * MiB],
      [{ contentType: 'image/webp', size: 5 * MiB + 1, purpose: 'AVATAR' }, 'TOO_LARGE', 5 * MiB],
      [{ contentType: 'image/gif', size: 5 * MiB + 1, purpose: 'AVATAR' }, 'TOO_LARGE', 5 * MiB],
      [{ contentType: 'video/mp4', size: 1000, purpose: 'AVATAR' }, 'UNSUPPORTED_TYPE', undefined],
      [{ contentType: 'application/pdf', size: 1000, purpose: 'AVATAR' }, 'UNSUPPORTED_TYPE', undefined],
      [{ contentType: 'image/svg+xml', size: 1000, purpose: 'MESSAGE_ATTACHMENT' }, 'UNSUPPORTED_TYPE', undefined],
      [
        { contentType: 'application/x-msdownload', size: 1000, purpose: 'MESSAGE_ATTACHMENT' },
        'UNSUPPORTED_TYPE',
        undefined,
      ],
      [
        { contentType: 'application/vnd.ms-word.document.macroenabled.12', size: 1000, purpose: 'MESSAGE_ATTACHMENT' },
        'UNSUPPORTED_TYPE',
        undefined,
      ],
      [{ contentType: 'image/png', size: 0, purpose: 'MESSAGE_ATTACHMENT' }, 'EMPTY', undefined],
      [{ contentType: 'image/png', size: 1.5, purpose: 'MESSAGE_ATTACHMENT' }, 'EMPTY', undefined],
    ] as const;
    for (const [declared, reason, limit] of cases) {
      const check = checkDeclared(declared);
      assert.ok(!check.ok, JSON.stringify(declared));
      assert.equal(check.reason, reason, JSON.stringify(declared));
      assert.equal(check.limit, limit);
      assert.ok(check.message.length > 0);
    }
  });

  it('renders the table for the README, one row per purpose and kind', () => {
    const table = limitsTable().split('\n');
    assert.equal(table.length, 2 + 6);
    assert.ok(
      table.includes(
        '| AVATAR | IMAGE | image/jpeg, image/png, image/webp | ≤ 5 MB | ≤ 4,096 px a side, ≤ 16,777,216 px |  |',
      ),
    );
    assert.ok(table.some((row) => row.startsWith('| MESSAGE_ATTACHMENT | VIDEO |') && row.endsWith('| ≤ 10 min |')));
  });
});
