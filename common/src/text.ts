/**
 * Text that people see: names (display names, group titles, device and file
 * names) that cannot impersonate anyone or hide, and message text whose
 * bidirectional controls cannot leak past its end. Rules in docs/SECURITY.md
 * ("Text and dates").
 */
import { z } from 'zod';
import type { CommonReason } from './errors.ts';

/** `extensions.reason` of a name refused by these rules. */
export const INVALID_TEXT = 'INVALID_TEXT' satisfies CommonReason;

/** Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI): they reorder what surrounds them. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/** Control characters (C0, DEL, C1) and line or paragraph separators: a name is one line. */
const CONTROL_OR_SEPARATOR = /[\p{Cc}\p{Zl}\p{Zp}]/u;
/** A lone surrogate (with the u flag, a pair is one code point and does not match). */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
/** Characters that render as nothing (zero-width space and joiners, BOM, Hangul fillers, variation selectors, …). */
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

export type NameCheck = { ok: true; value: string } | { ok: false; message: string; reason?: typeof INVALID_TEXT };

/**
 * Normalises a name to NFC and trims it, then checks it, in this order:
 * well-formed UTF-16 (no lone surrogates), no control characters or line
 * separators, no bidi controls (U+202A–U+202E, U+2066–U+2069), something
 * visible once default-ignorable code points are removed, and at most `max`
 * UTF-16 units (counted after normalising, so a decomposed name is not
 * penalised).
 * @returns the name to store, or the problem (reason INVALID_TEXT for all but the length).
 * @example checkName(' Ann ', 64) // { ok: true, value: 'Ann' }
 * @example checkName('\u200b', 64) // { ok: false, reason: 'INVALID_TEXT', … }
 */
export function checkName(raw: string, max: number): NameCheck {
  if (LONE_SURROGATE.test(raw)) return { ok: false, reason: INVALID_TEXT, message: 'must be valid Unicode text' };
  const value = raw.normalize('NFC').trim();
  if (CONTROL_OR_SEPARATOR.test(value))
    return { ok: false, reason: INVALID_TEXT, message: 'must not contain control characters or line breaks' };
  if (BIDI_CONTROL.test(value))
    return { ok: false, reason: INVALID_TEXT, message: 'must not contain bidirectional control characters' };
  if (value.replace(DEFAULT_IGNORABLE, '').trim() === '')
    return { ok: false, reason: INVALID_TEXT, message: 'must contain a visible character' };
  if (value.length > max) return { ok: false, message: `must be at most ${max} characters` };
  return { ok: true, value };
}

/**
 * A zod schema for a name: see `checkName`. Its refusals are custom issues
 * with `params.reason` INVALID_TEXT, which `fromZodError` lifts into the
 * error's `extensions.reason`. Inputs longer than 4 × `max` are refused
 * before any work is done on them.
 */
export function zName(max: number) {
  return z
    .string()
    .max(4 * max, `must be at most ${max} characters`)
    .transform((raw, ctx) => {
      const checked = checkName(raw, max);
      if (checked.ok) return checked.value;
      ctx.addIssue({
        code: 'custom',
        message: checked.message,
        input: raw,
        ...(checked.reason ? { params: { reason: checked.reason } } : {}),
      });
      return z.NEVER;
    });
}

const EMBEDDING_OPENERS = new Set(['\u202A', '\u202B', '\u202D', '\u202E']);
const PDF = '\u202C';
const ISOLATE_OPENERS = new Set(['\u2066', '\u2067', '\u2068']);
const PDI = '\u2069';
/** Paragraph separators (Unicode bidi class B): every embedding and isolate ends at one. */
const PARAGRAPH_SEPARATORS = new Set(['\n', '\r', '\u001C', '\u001D', '\u001E', '\u0085', '\u2029']);

/**
 * Message text with its bidirectional controls balanced, so that nothing it
 * opens reaches past its own line into what a client shows after it (a name,
 * a time, the next message): an embedding, override or isolate still open at
 * the end of a line (or of the text) is closed there (PDF, PDI appended, the
 * innermost first); a PDF or PDI that closes nothing is dropped; a PDI closes
 * the embeddings opened inside its isolate first. Balanced text comes back
 * unchanged. Never refuses.
 * @example balanceBidi('abc\u202Efdp.exe') // 'abc\u202Efdp.exe\u202C'
 */
export function balanceBidi(text: string): string {
  if (!BIDI_CONTROL.test(text)) return text;
  const open: ('embedding' | 'isolate')[] = [];
  let out = '';
  const closeWhile = (until: (top: 'embedding' | 'isolate') => boolean) => {
    while (open.length > 0 && !until(open.at(-1)!)) out += open.pop() === 'isolate' ? PDI : PDF;
  };
  for (const char of text) {
    if (EMBEDDING_OPENERS.has(char)) {
      open.push('embedding');
      out += char;
    } else if (ISOLATE_OPENERS.has(char)) {
      open.push('isolate');
      out += char;
    } else if (char === PDF) {
      // Inside an isolate, a PDF closes only an embedding opened within it.
      if (open.at(-1) === 'embedding') {
        open.pop();
        out += char;
      }
    } else if (char === PDI) {
      if (open.includes('isolate')) {
        closeWhile((top) => top === 'isolate');
        open.pop();
        out += char;
      }
    } else if (PARAGRAPH_SEPARATORS.has(char)) {
      closeWhile(() => false);
      out += char;
    } else {
      out += char;
    }
  }
  closeWhile(() => false);
  return out;
}

/**
 * Message text as stored: lone surrogates replaced by U+FFFD, normalised to
 * NFC, bidi controls balanced (`balanceBidi`). Trimming and length checks are
 * the caller's, on this result.
 */
export function normaliseMessageText(text: string): string {
  return balanceBidi(text.replace(LONE_SURROGATES, '\uFFFD').normalize('NFC'));
}
