/**
 * Throwaway certificates for the TLS tests, made with the real `openssl`: a CA, a second CA
 * nobody trusts, a server certificate with chosen subject alternative names, and a client
 * certificate, all valid for two days.
 * @module
 */

/** Paths of the files {@link makeCerts} wrote. */
export interface Certs {
  dir: string;
  /** The trusted CA. */
  ca: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** mariadbd options serving the server certificate. */
  serverArgs: string[];
}

/** Runs openssl in `cwd`; throws with its stderr on failure. */
export async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function selfSigned(dir: string, name: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  ], dir);
}

async function signed(dir: string, name: string, cn: string, ext: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ], dir);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ], dir);
}

/**
 * Makes the files in a new temporary directory. `serverNames` is the server certificate's
 * subjectAltName, e.g. `IP:127.0.0.1,DNS:localhost` or `DNS:wrong.example.org`.
 */
export async function makeCerts(serverNames: string): Promise<Certs> {
  const dir = await Deno.makeTempDir({ prefix: "mmd-tls-" });
  try {
    await selfSigned(dir, "ca");
    await selfSigned(dir, "otherca");
    const cn = serverNames.split(",")[0].replace(/^[A-Z]+:/, "");
    await signed(dir, "server", cn, `subjectAltName=${serverNames}\n`);
    await signed(dir, "client", "conntrack-client", "extendedKeyUsage=clientAuth\n");
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    dir,
    ca: `${dir}/ca.pem`,
    otherCa: `${dir}/otherca.pem`,
    serverCert: `${dir}/server.pem`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
    serverArgs: [
      `--ssl-ca=${dir}/ca.pem`,
      `--ssl-cert=${dir}/server.pem`,
      `--ssl-key=${dir}/server.key`,
    ],
  };
}
