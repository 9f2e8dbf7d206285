/**
 * A fake MySQL server on loopback for the password-handling tests: it sends a protocol-10
 * handshake, answers the client's handshake response with an auth switch to the plugin of the
 * scenario, plays that plugin's server side as an attacker would (hands out its own RSA key
 * when asked), and records every byte it receives. Passwords it manages to decrypt are listed
 * in `recovered`. It never accepts a login: each exchange ends with an "access denied" error or
 * with the client hanging up.
 * @module
 */
import { Buffer } from "node:buffer";
import { constants, generateKeyPairSync, type KeyObject, privateDecrypt } from "node:crypto";

/** Which authentication the fake asks for after the client's handshake response. */
export type FakeScenario = "sha256_password" | "caching_sha2_password" | "mysql_clear_password";

/** One client connection as seen by the fake. */
export interface FakeSession {
  /** Payloads of the packets the client sent, in order (handshake response first). */
  packets: Uint8Array[];
  /** The 20-byte nonce of the auth switch. */
  nonce: Uint8Array;
}

// CLIENT_LONG_PASSWORD | CONNECT_WITH_DB | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION |
// MULTI_RESULTS | PLUGIN_AUTH | PLUGIN_AUTH_LENENC_CLIENT_DATA (no CLIENT_SSL).
const CAPABILITIES = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x20000 | 0x80000 | 0x200000;

/** A listening fake server; `await using` closes it. */
export class FakeMySQL implements AsyncDisposable {
  readonly port: number;
  readonly sessions: FakeSession[] = [];
  /** Passwords decrypted from what clients sent (the attack succeeding). */
  readonly recovered: string[] = [];
  /** The fake's own RSA key pair; the public half is what it sends to clients that ask. */
  readonly publicPem: string;
  readonly #privateKey: KeyObject;
  readonly #listener: Deno.TcpListener;
  readonly #scenario: FakeScenario;
  readonly #done: Promise<void>;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #serving = new Set<Promise<void>>();

  constructor(scenario: FakeScenario) {
    this.#scenario = scenario;
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.publicPem = publicKey.export({ type: "spki", format: "pem" }) as string;
    this.#privateKey = privateKey;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#done = this.#accept();
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      this.#conns.add(conn);
      const serving: Promise<void> = this.#serve(conn).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        this.#serving.delete(serving);
        try {
          conn.close();
        } catch { /* closed by the client */ }
      });
      this.#serving.add(serving);
    }
  }

  /**
   * Resolves once every connection accepted so far has ended (the client hung up or was
   * denied): by then everything the client sent has been read and recorded.
   */
  async settled(): Promise<void> {
    while (this.#serving.size) await Promise.all([...this.#serving]);
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const io = new PacketIO(conn);
    const salt = crypto.getRandomValues(new Uint8Array(20)).map((b) => (b % 94) + 33);
    await io.write(0, handshake(salt));
    const nonce = crypto.getRandomValues(new Uint8Array(20)).map((b) => (b % 94) + 33);
    const session: FakeSession = { packets: [], nonce };
    this.sessions.push(session);
    const next = async () => {
      const p = await io.read();
      if (p) session.packets.push(p.payload);
      return p;
    };
    let p = await next(); // handshake response
    if (!p) return;
    const plugin = new TextEncoder().encode(this.#scenario);
    await io.write(p.seq + 1, concat([0xfe], plugin, [0], nonce, [0]));
    p = await next();
    if (!p) return;
    if (this.#scenario === "caching_sha2_password") {
      // Whatever the fast-path scramble was: ask for the password itself.
      await io.write(p.seq + 1, new Uint8Array([0x01, 0x04]));
      p = await next();
      if (!p) return;
    }
    // A request for the server's key (1 for sha256_password, 2 for caching_sha2_password):
    // hand out our own.
    if (p.payload.length === 1 && (p.payload[0] === 1 || p.payload[0] === 2)) {
      await io.write(p.seq + 1, concat([0x01], new TextEncoder().encode(this.publicPem)));
      p = await next();
      if (!p) return;
    }
    this.#tryDecrypt(p.payload, nonce);
    await io.write(p.seq + 1, accessDenied());
  }

  /** Records the password if `data` is it encrypted with our key (or in clear). */
  #tryDecrypt(data: Uint8Array, nonce: Uint8Array): void {
    try {
      const plain = privateDecrypt(
        { key: this.#privateKey, oaepHash: "sha1", padding: constants.RSA_PKCS1_OAEP_PADDING },
        Buffer.from(data),
      );
      const out = plain.map((b, i) => b ^ nonce[i % nonce.length]);
      this.recovered.push(new TextDecoder().decode(out).replace(/\0$/, ""));
    } catch {
      if (data.at(-1) === 0) this.recovered.push(new TextDecoder().decode(data.slice(0, -1)));
    }
  }

  /** All bytes received from clients, concatenated. */
  received(): Uint8Array {
    return concat(...this.sessions.flatMap((s) => s.packets));
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* gone */ }
    }
    await this.#done.catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}

/** Protocol-10 handshake announcing mysql_native_password, like a MariaDB server. */
function handshake(salt: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  return concat(
    [10],
    enc.encode("8.0.36-fake"),
    [0],
    [7, 0, 0, 0], // connection id
    salt.slice(0, 8),
    [0],
    u16(CAPABILITIES & 0xffff),
    [45], // utf8mb4_general_ci
    u16(0x0002), // SERVER_STATUS_AUTOCOMMIT
    u16(CAPABILITIES >>> 16),
    [21],
    new Array(10).fill(0),
    salt.slice(8),
    [0],
    enc.encode("mysql_native_password"),
    [0],
  );
}

function accessDenied(): Uint8Array {
  return concat([0xff], u16(1045), new TextEncoder().encode("#28000Access denied (fake server)"));
}

/** MySQL packet framing over a TCP connection. */
class PacketIO {
  #conn: Deno.TcpConn;
  #buf: Uint8Array = new Uint8Array(0);

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  async write(seq: number, payload: Uint8Array): Promise<void> {
    const n = payload.length;
    const head = [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, seq & 0xff];
    const data = concat(head, payload);
    for (let off = 0; off < data.length;) off += await this.#conn.write(data.subarray(off));
  }

  /** The next packet, or undefined when the client hung up. */
  async read(): Promise<{ seq: number; payload: Uint8Array } | undefined> {
    while (true) {
      if (this.#buf.length >= 4) {
        const n = this.#buf[0] | (this.#buf[1] << 8) | (this.#buf[2] << 16);
        if (this.#buf.length >= 4 + n) {
          const packet = { seq: this.#buf[3], payload: this.#buf.slice(4, 4 + n) };
          this.#buf = this.#buf.slice(4 + n);
          return packet;
        }
      }
      const chunk = new Uint8Array(65536);
      let got: number | null;
      try {
        got = await this.#conn.read(chunk);
      } catch {
        return undefined;
      }
      if (got === null) return undefined;
      this.#buf = concat(this.#buf, chunk.subarray(0, got));
    }
  }
}
