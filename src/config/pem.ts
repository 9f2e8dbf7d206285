/**
 * PEM files named by the configuration (TLS CA, client certificate and key, a server's public
 * key): read once, checked where a check is cheap.
 * @module
 */
import { createPublicKey } from "node:crypto";

/** The text of `path`; throws an Error whose message says why it cannot be read. */
export async function readPem(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : err}`);
  }
}

/** Whether `pem` holds an RSA public key (what sha256_password/caching_sha2_password use). */
export function isRsaPublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}

/** The message for a file that is not an RSA public key. */
export function notPublicKey(path: string): string {
  return `${path} is not an RSA public key in PEM form (the server's ` +
    `caching_sha2_password/sha256_password public key)`;
}
