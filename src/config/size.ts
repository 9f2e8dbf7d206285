/**
 * Storage sizes as written in search_user: plain bytes, or a number with a K, M, G or T suffix
 * (optionally followed by B) meaning powers of 1024, like MySQL's own size options. A fraction
 * is allowed (`1.5GB`, as in the established example files) and rounded down to whole bytes.
 * @module
 */
import { formatBytes } from "../util/bytes.ts";
import { quoteValue } from "../util/text.ts";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Parses a size such as `500MB`, `2G`, `1.5GB` or `1048576` into bytes.
 *
 * Throws a SyntaxError (with a message fit for the operator) for an empty value, a negative
 * or zero size, an unknown suffix, garbage, or a value above 2^53 - 1 bytes.
 */
export function parseSize(text: string): number {
  const raw = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?$/i.exec(raw);
  if (!m) {
    if (/^-/.test(raw)) {
      throw new SyntaxError(`size ${quoteValue(raw)} is negative; sizes must be above 0`);
    }
    throw new SyntaxError(
      `${
        quoteValue(raw)
      } is not a size; write bytes or a number with K, M, G or T (e.g. 500MB, 1.5G)`,
    );
  }
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toUpperCase()]);
  if (!Number.isSafeInteger(bytes)) {
    throw new SyntaxError(
      `size ${quoteValue(raw)} is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)`,
    );
  }
  if (bytes <= 0) throw new SyntaxError(`size ${quoteValue(raw)} is zero; sizes must be above 0`);
  return bytes;
}

/** Formats bytes for people, without spaces so logs need no quoting: `1.5GiB`, `512B`. */
export function formatSize(bytes: number): string {
  return formatBytes(bytes);
}
