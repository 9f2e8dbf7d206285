/**
 * Whole-file replacement that readers never see half-written: write a temporary file in the
 * same directory, flush it, then rename it over the target.
 * @module
 */

/** Writes `text` to `path` atomically; the temporary file is `<path>.tmp.<pid>`. */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp.${Deno.pid}`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode });
    try {
      const bytes = new TextEncoder().encode(text);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
