/** "Did you mean …?" for unknown configuration keys, shared by every config format. @module */

/** Keys longer than this get no suggestion: no known key is near them, and the search is bounded. */
export const MAX_SUGGEST_CHARS = 64;

/** Edit distance between two short strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The entry of `known` closest to `key` ignoring case, or undefined when none is within a
 * third of the key's length (at least 2 edits). A key of more than {@link MAX_SUGGEST_CHARS}
 * characters gets none, so the cost stays small whatever the input.
 */
export function closest(key: string, known: readonly string[]): string | undefined {
  if (key.length > MAX_SUGGEST_CHARS) return undefined;
  const allowed = Math.max(2, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    // The distance is at least the difference in length.
    if (Math.abs(candidate.length - key.length) > allowed) continue;
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= allowed ? best : undefined;
}

/**
 * An unknown key that may be shown in a message: only when a known key is close to it (a typo,
 * then, not a secret: the file given could be a password file). Returns the key and the
 * suggestion, or undefined when the key must not be shown.
 */
export function typo(
  key: string,
  known: readonly string[],
): { key: string; hint: string } | undefined {
  const hint = closest(key, known);
  return hint === undefined ? undefined : { key, hint };
}
