/**
 * Strict UTF-8 in both directions: invalid bytes and lone UTF-16 surrogates are errors, not
 * replacement characters.
 *
 * Node's `Buffer.toString()` and `Buffer.from(string)` silently substitute U+FFFD, so a corrupt record
 * would flow downstream looking valid; a serde must fail instead so the record goes to the DLQ.
 */

// ignoreBOM keeps a leading U+FEFF: it is part of the value, and dropping it would break round trips.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lone surrogate is a `\p{Cs}` code point; a valid pair forms one astral code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Decodes UTF-8, throwing a `TypeError` on invalid bytes. A leading U+FEFF is kept: for a string
 * value it is content, and formats that allow a byte-order mark (JSON) strip it themselves.
 */
export function decodeUtf8Strict(data: Uint8Array): string {
  return decoder.decode(data);
}

/**
 * Returns the index of the first lone surrogate in `text`, or -1: such a string has no UTF-8
 * encoding and `Buffer.from` would replace it with U+FFFD.
 */
export function findLoneSurrogate(text: string): number {
  const match = LONE_SURROGATE.exec(text);
  return match === null ? -1 : match.index;
}
