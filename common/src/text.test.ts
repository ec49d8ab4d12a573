import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphQLError } from 'graphql';
import { fromZodError } from './errors.ts';
import { balanceBidi, checkName, normaliseMessageText, zName } from './text.ts';

const LRE = '\u202A';
const RLE = '\u202B';
const PDF = '\u202C';
const RLO = '\u202E';
const LRI = '\u2066';
const RLI = '\u2067';
const PDI = '\u2069';

describe('checkName', () => {
  it('normalises to NFC and trims before counting', () => {
    const decomposed = 'Zoe\u0301'.repeat(16); // 64 UTF-16 units decomposed, 48 composed
    assert.deepEqual(checkName(`  ${decomposed}  `, 48), { ok: true, value: 'Zoé'.repeat(16) });
    assert.deepEqual(checkName('x'.repeat(65), 64), { ok: false, message: 'must be at most 64 characters' });
  });

  it('refuses bidi controls: overrides, embeddings and isolates', () => {
    for (const char of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069']) {
      const checked = checkName(`invoice${char}fdp.exe`, 64);
      assert.equal(checked.ok, false, `U+${char.codePointAt(0)!.toString(16)}`);
      assert.equal(!checked.ok && checked.reason, 'INVALID_TEXT');
    }
  });

  it('refuses names that are empty once default-ignorable code points are removed', () => {
    for (const name of [
      '',
      '   ',
      '\u200B',
      '\u200B\u200C\u200D',
      '\uFEFF',
      '\u3164',
      '\u2060\u00AD',
      '\u200E\u200F',
      '\uFE0F',
    ]) {
      const checked = checkName(name, 64);
      assert.equal(checked.ok, false, JSON.stringify(name));
      assert.equal(!checked.ok && checked.reason, 'INVALID_TEXT');
    }
  });

  it('refuses control characters, line separators and lone surrogates', () => {
    for (const name of ['a\u0000b', 'a\nb', 'a\u0085b', 'a\u2028b', 'a\u2029b', 'a\uD800b', 'a\uDC00']) {
      const checked = checkName(name, 64);
      assert.equal(!checked.ok && checked.reason, 'INVALID_TEXT', JSON.stringify(name));
    }
  });

  it('keeps ordinary names of every script, with joiners and marks inside visible text', () => {
    for (const name of ['Ann', 'Zoë', 'عائشة', 'דוד', '李雷', '👩\u200D💻 dev', 'Ann\u200Ehello', 'a b']) {
      assert.deepEqual(checkName(name, 64), { ok: true, value: name.normalize('NFC') });
    }
  });
});

describe('zName', () => {
  it('gives fromZodError the reason INVALID_TEXT', () => {
    const result = zName(64).safeParse('\u200B');
    assert.equal(result.success, false);
    const error = fromZodError(result.error!);
    assert.ok(error instanceof GraphQLError);
    assert.equal(error.extensions.code, 'BAD_USER_INPUT');
    assert.equal(error.extensions.reason, 'INVALID_TEXT');
  });

  it('refuses an over-long name with no reason, before normalising a huge input', () => {
    const result = zName(64).safeParse('x'.repeat(100_000));
    assert.equal(result.success, false);
    assert.equal(fromZodError(result.error!).extensions.reason, undefined);
  });

  it('returns the normalised name', () => {
    assert.equal(zName(64).parse(' Zoe\u0301 '), 'Zoé');
  });
});

describe('balanceBidi', () => {
  it('leaves balanced text and text without controls unchanged', () => {
    for (const text of ['plain', `a ${RLE}b${PDF} c`, `${RLI}שלום${PDI} world`, `${LRI}${RLE}x${PDF}${PDI}`])
      assert.equal(balanceBidi(text), text);
  });

  it('closes an unterminated override at the end of the text', () => {
    assert.equal(balanceBidi(`invoice${RLO}fdp.exe`), `invoice${RLO}fdp.exe${PDF}`);
  });

  it('closes what is open innermost first, and at the end of every line', () => {
    assert.equal(balanceBidi(`${RLI}a${LRE}b`), `${RLI}a${LRE}b${PDF}${PDI}`);
    assert.equal(balanceBidi(`${RLO}a\nb${RLI}c`), `${RLO}a${PDF}\nb${RLI}c${PDI}`);
  });

  it('drops closers that close nothing', () => {
    assert.equal(balanceBidi(`${PDF}a${PDI}b`), 'ab');
    // Inside an isolate, a PDF cannot close the embedding opened outside it.
    assert.equal(balanceBidi(`${RLE}a${RLI}b${PDF}c${PDI}d${PDF}`), `${RLE}a${RLI}bc${PDI}d${PDF}`);
  });

  it('lets a PDI close the embeddings opened inside its isolate', () => {
    assert.equal(balanceBidi(`${RLI}a${RLO}b${PDI}c`), `${RLI}a${RLO}b${PDF}${PDI}c`);
  });
});

describe('normaliseMessageText', () => {
  it('normalises to NFC, replaces lone surrogates and balances bidi controls', () => {
    assert.equal(normaliseMessageText(`Zoe\u0301 \uD800 ${RLO}x`), `Zoé \uFFFD ${RLO}x${PDF}`);
  });
});
