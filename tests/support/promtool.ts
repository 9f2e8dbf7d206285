/** `promtool check metrics` on a file, for the metrics tests. @module */

/** Runs `promtool check metrics` with `file` on stdin; returns its exit code and output. */
export async function promtool(file: string): Promise<{ code: number; output: string }> {
  const out = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(await Deno.readFile(file));
  await w.close();
  const r = await out.output();
  const dec = new TextDecoder();
  return { code: r.code, output: dec.decode(r.stdout) + dec.decode(r.stderr) };
}
