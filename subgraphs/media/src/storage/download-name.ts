/**
 * The name a download is saved under, and its `Content-Disposition`. The name
 * comes from the uploader, so it is made safe to show and to save:
 *
 * - only its last path segment is kept;
 * - control, format and separator characters are removed (\p{Cc}, \p{Cf},
 *   \p{Zl}, \p{Zp}): among them the bidirectional overrides and isolates
 *   (U+202A–U+202E, U+2066–U+2069) and marks (U+200E, U+200F, U+061C) that
 *   make `invoice\u202Efdp.exe` display as `invoiceexe.pdf`, and zero-width
 *   characters;
 * - its extension is the stored type's: kept when it is one of that type's
 *   (`photo.jpeg` for image/jpeg), replaced otherwise (`x.html` served as
 *   text/plain is saved as `x.txt`), added when there is none;
 * - at most 255 characters; `download` when nothing is left.
 *
 * The disposition is always `attachment`: a browser saves the file rather
 * than showing it in the serving origin (pictures and videos still show in
 * `<img>` and `<video>`, which ignore the header).
 */

/** The extensions of each type the media subgraph serves, the one downloads get first. */
const EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  'image/jpeg': ['jpg', 'jpeg', 'jpe'],
  'image/png': ['png'],
  'image/webp': ['webp'],
  'image/gif': ['gif'],
  'video/mp4': ['mp4', 'm4v'],
  'video/webm': ['webm'],
  'video/quicktime': ['mov', 'qt'],
  'application/pdf': ['pdf'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['docx'],
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': ['xlsx'],
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': ['pptx'],
  'application/zip': ['zip'],
  'text/plain': ['txt', 'text', 'log'],
  'text/csv': ['csv'],
  'text/markdown': ['md', 'markdown'],
  'audio/mpeg': ['mp3'],
  'audio/ogg': ['ogg', 'oga', 'opus'],
  'audio/mp4': ['m4a'],
};

/** What a type nobody listed is saved as: bytes, opened by nothing in particular. */
const UNKNOWN_EXTENSION = 'bin';
const MAX_NAME_LENGTH = 255;
/** Control, format (bidi overrides and isolates, marks, zero-width) and line/paragraph separators. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** The extensions `contentType` (parameters ignored) is saved with; the first is the one added. */
export function extensionsOf(contentType: string): readonly string[] {
  return EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()] ?? [UNKNOWN_EXTENSION];
}

/** The name a download of `contentType` is saved under, from the name its uploader gave (see the module comment). */
export function downloadName(fileName: string | undefined, contentType: string): string {
  const extensions = extensionsOf(contentType);
  const name = (fileName ?? '')
    .normalize('NFC')
    .split(/[\\/]/)
    .pop()!
    .replace(INVISIBLE, '')
    .trim()
    // Trailing dots and spaces vanish on Windows, which would leave the extension behind them.
    .replace(/[.\s]+$/u, '');
  const dot = name.lastIndexOf('.');
  const [base, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot + 1)] : [name, ''];
  const kept = extensions.includes(extension.toLowerCase()) ? extension : extensions[0]!;
  const stem = [...base.replace(/[.\s]+$/u, '')].slice(0, MAX_NAME_LENGTH - kept.length - 1).join('') || 'download';
  return `${stem}.${kept}`;
}

/**
 * `Content-Disposition` for a download (RFC 6266): always `attachment`,
 * with `downloadName` twice: as an ASCII fallback (`filename`, anything
 * outside printable ASCII, quotes, backslashes and percent signs replaced by
 * `_`) and exactly (`filename*`, UTF-8, percent-encoded per RFC 8187).
 */
export function contentDisposition(fileName: string | undefined, contentType: string): string {
  const name = downloadName(fileName, contentType);
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
