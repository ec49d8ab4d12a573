import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromZodError } from '@chat/common';
import { ZCreateUploadInputSchema } from './media-service.ts';

const input = (fileName: string) => ({
  fileName,
  contentType: 'application/pdf',
  size: 1000,
  purpose: 'MESSAGE_ATTACHMENT' as const,
});

describe('createUpload fileName', () => {
  it('keeps the last path segment, trimmed and in NFC', () => {
    assert.equal(
      ZCreateUploadInputSchema.parse(input('C:\\Users\\ann\\ re\u0301sume\u0301.pdf ')).fileName,
      'r\u00E9sum\u00E9.pdf',
    );
  });

  it('refuses bidi controls and names with nothing visible (INVALID_TEXT)', () => {
    for (const fileName of [
      'invoice\u202Efdp.exe',
      'a\u2066b.pdf',
      '\u200B',
      'dir/\u2060\uFEFF',
      'dir/',
      'bell\u0007.pdf',
    ]) {
      const result = ZCreateUploadInputSchema.safeParse(input(fileName));
      assert.equal(result.success, false, JSON.stringify(fileName));
      assert.equal(fromZodError(result.error!).extensions.reason, 'INVALID_TEXT', JSON.stringify(fileName));
    }
  });

  it('refuses names longer than 255 characters', () => {
    assert.equal(ZCreateUploadInputSchema.safeParse(input(`${'x'.repeat(252)}.pdf`)).success, false);
    assert.equal(ZCreateUploadInputSchema.safeParse(input(`${'x'.repeat(251)}.pdf`)).success, true);
  });
});
