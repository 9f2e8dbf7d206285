/**
 * The one place that splits a file path into its directory and its last name.
 * @module
 */

/** The directory part of a path ("/" for a top-level name, "." for a bare name). */
export function dirOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : trimmed.slice(0, i);
}

/** The last name of a path: what follows its last `/` (the whole path when it has none). */
export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
