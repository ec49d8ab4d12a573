/**
 * Download names: what a browser shows and saves. The storages' own tests
 * check the header as each store sends it (local-storage.test.ts over HTTP,
 * s3-storage.test.ts through S3Proxy).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MEDIA_LIMITS } from '../processing/limits.ts';
import { contentDisposition, downloadName, extensionsOf } from './download-name.ts';

describe('download names', () => {
  it('removes bidirectional overrides, isolates, marks, zero-width and control characters', () => {
    assert.equal(downloadName('invoice\u202Efdp.exe', 'application/pdf'), 'invoicefdp.pdf');
    assert.equal(
      downloadName('a\u2066b\u2069\u200Ec\u200F\u061Cd\u200B\u0007\n\u2028e.pdf', 'application/pdf'),
      'abcde.pdf',
    );
    assert.equal(downloadName('\u202E', 'image/png'), 'download.png');
  });

  it("forces the stored type's extension: kept when it is one of the type's, replaced or added otherwise", () => {
    assert.equal(downloadName('x.html', 'text/plain'), 'x.txt');
    assert.equal(downloadName('photo.JPEG', 'image/jpeg'), 'photo.JPEG');
    assert.equal(downloadName('photo.png', 'image/jpeg'), 'photo.jpg');
    assert.equal(downloadName('notes', 'text/markdown'), 'notes.md');
    assert.equal(downloadName('.bashrc', 'text/plain'), '.bashrc.txt');
    assert.equal(downloadName('report.pdf. . ', 'application/pdf'), 'report.pdf');
    assert.equal(downloadName('trick.pdf .exe', 'application/pdf'), 'trick.pdf.pdf');
    assert.equal(downloadName('../../etc/passwd', 'text/plain'), 'passwd.txt');
    assert.equal(downloadName('clip.mp4', 'image/webp'), 'clip.webp', 'a thumbnail is saved as WebP');
    assert.equal(downloadName('a.exe', 'application/x-unknown'), 'a.bin');
  });

  it('keeps names within 255 characters, extension included', () => {
    const name = downloadName(`${'é'.repeat(300)}.pdf`, 'application/pdf');
    assert.equal([...name].length, 255);
    assert.ok(name.endsWith('é.pdf'));
  });

  it('knows an extension for every type an upload may have', () => {
    const types = Object.values(MEDIA_LIMITS).flatMap((kinds) =>
      Object.values(kinds).flatMap((limits) => limits.types),
    );
    for (const type of types) assert.notDeepEqual(extensionsOf(type), ['bin'], type);
  });

  it('is always an attachment, with an ASCII fallback and the exact name (RFC 6266, RFC 8187)', () => {
    assert.equal(
      contentDisposition('Année "report" 100%.pdf', 'application/pdf'),
      `attachment; filename="Ann_e _report_ 100_.pdf"; filename*=UTF-8''Ann%C3%A9e%20%22report%22%20100%25.pdf`,
    );
    assert.equal(
      contentDisposition("it's (1)*.png", 'image/png'),
      `attachment; filename="it's (1)*.png"; filename*=UTF-8''it%27s%20%281%29%2A.png`,
    );
    assert.equal(
      contentDisposition(undefined, 'video/mp4'),
      `attachment; filename="download.mp4"; filename*=UTF-8''download.mp4`,
    );
  });
});
