/**
 * PEM files named by the configuration (TLS CA, client certificate and key, a server's public
 * key): read once, checked where a check is cheap.
 * @module
 */
import { createPublicKey } from "node:crypto";
import { CERT_MAX_BYTES, readConfigText } from "./safe_read.ts";

/**
 * The text of `path`, read like every configuration file (regular file only, at most
 * `maxBytes`); throws a ConfigError naming the file and why it cannot be read.
 */
export function readPem(path: string, maxBytes = CERT_MAX_BYTES): Promise<string> {
  return readConfigText(path, { maxBytes, label: "file" });
}

/** Whether `pem` holds an RSA public key (what sha256_password/caching_sha2_password use). */
export function isRsaPublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === "rsa";
  } catch (err) {
    if (err instanceof TypeError) return false; // not a public key in PEM
    throw err;
  }
}

/** The message for a file that is not an RSA public key. */
export function notPublicKey(path: string): string {
  return `${path} is not an RSA public key in PEM form (the server's ` +
    `caching_sha2_password/sha256_password public key)`;
}
