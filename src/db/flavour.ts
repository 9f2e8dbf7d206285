/**
 * Server flavour and version from `SELECT VERSION()`, and whether it supports
 * `ALTER USER … ACCOUNT LOCK` (MariaDB ≥ 10.4.2, MySQL ≥ 5.7.6).
 * @module
 */

/** Flavour and numeric version of a server. */
export interface Flavour {
  kind: "mariadb" | "mysql";
  version: [number, number, number];
  /** The full VERSION() text. */
  text: string;
}

/** Parses a VERSION() string such as `10.11.19-MariaDB-0+deb12u1` or `8.0.36`. */
export function parseVersion(text: string): Flavour {
  // MariaDB may report itself behind the old "5.5.5-" replication prefix.
  const m = /^(?:5\.5\.5-(?=\d+\.\d+\.\d+-MariaDB))?(\d+)\.(\d+)\.(\d+)/i.exec(text);
  if (!m) throw new SyntaxError(`unrecognised server version "${text}"`);
  const version: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { kind: /mariadb/i.test(text) ? "mariadb" : "mysql", version, text };
}

function atLeast(v: [number, number, number], min: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

/** Why ACCOUNT LOCK cannot be used on this server, or undefined when it can. */
export function lockUnsupported(f: Flavour): string | undefined {
  const min: [number, number, number] = f.kind === "mariadb" ? [10, 4, 2] : [5, 7, 6];
  if (atLeast(f.version, min)) return undefined;
  const name = f.kind === "mariadb" ? "MariaDB" : "MySQL";
  return `${name} ${f.version.join(".")} does not support ALTER USER ... ACCOUNT LOCK ` +
    `(needs ${name} ${min.join(".")} or later); run with -d 0 or -d 1, or upgrade the server`;
}
