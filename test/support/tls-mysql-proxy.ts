/**
 * A MySQL server with TLS, for tests, in front of one without: it offers TLS in the server's
 * greeting, completes the client's TLS upgrade with a test certificate, then relays the rest to the
 * real server in plain text, renumbering the packets of the login exchange by the one packet (the
 * client's TLS request) the real server never sees. test/fixtures/tls holds a CA and certificates it
 * signed for `localhost` and `db.example.test` (EC P-256, made with openssl, valid until 2126).
 */
import { readFileSync } from "node:fs";
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from "node:net";
import { resolve } from "node:path";
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";

const FIXTURES = resolve(__dirname, "../fixtures/tls");
export const TEST_CA_FILE = resolve(FIXTURES, "ca.pem");

const CLIENT_SSL = 0x0800;
const HEADER = 4;

/** Splits a byte stream into MySQL packets (3-byte length, 1-byte sequence number, payload). */
class PacketReader {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const packets: Buffer[] = [];
    while (this.buffered.length >= HEADER) {
      const size = HEADER + this.buffered.readUIntLE(0, 3);
      if (this.buffered.length < size) break;
      packets.push(this.buffered.subarray(0, size));
      this.buffered = this.buffered.subarray(size);
    }
    return packets;
  }
}

/** The greeting's capability flags (low two bytes) sit after the version string, thread id, 8 bytes of scramble and a filler. */
function capabilityOffset(greeting: Buffer): number {
  return greeting.indexOf(0, HEADER + 1) + 1 + 4 + 8 + 1;
}

/** The client socket as a stream that first yields the bytes already read from it (the start of the TLS handshake). */
function withLeftover(socket: Socket, leftover: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    final: (done) => void socket.end(done),
  });
  if (leftover.length > 0) stream.push(leftover);
  socket.on("data", (data: Buffer) => {
    if (!stream.push(data)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  return stream;
}

export interface TlsMysqlProxy {
  port: number;
  /** The cipher of each client connection that completed TLS. */
  ciphers: string[];
  close(): Promise<void>;
}

/** `certificateFor: "db.example.test"` presents a certificate for another host than the one connected to. */
export async function startTlsMysqlProxy(
  upstream: { host: string; port: number },
  certificateFor: "localhost" | "db.example.test" = "localhost",
): Promise<TlsMysqlProxy> {
  const file = certificateFor === "localhost" ? "server" : "other-host";
  const key = readFileSync(resolve(FIXTURES, `${file}-key.pem`));
  const cert = readFileSync(resolve(FIXTURES, `${file}.pem`));
  const ciphers: string[] = [];
  const sockets = new Set<Socket>();

  function relay(client: Socket): void {
    const server = createConnection(upstream);
    sockets.add(client).add(server);
    const fromServer = new PacketReader();
    const fromClient = new PacketReader();
    let secure: TLSSocket | undefined;
    /** Until the login ends, packets keep the sequence the client started; the server's is one behind. */
    let loggingIn = true;
    const end = () => {
      client.destroy();
      server.destroy();
      secure?.destroy();
    };
    client.on("error", end).on("close", end);
    server.on("error", end).on("close", end);

    const toServer = (packet: Buffer) => {
      if (loggingIn) {
        packet[3] = packet[3]! - 1;
        // The login packet's own TLS flag would make the server expect TLS too.
        if (packet[3] === 1) packet.writeUInt16LE(packet.readUInt16LE(HEADER) & ~CLIENT_SSL, HEADER);
      }
      server.write(packet);
    };

    server.on("data", (chunk: Buffer) => {
      for (const packet of fromServer.push(chunk)) {
        if (packet[3] === 0 && !secure && loggingIn) {
          const at = capabilityOffset(packet);
          packet.writeUInt16LE(packet.readUInt16LE(at) | CLIENT_SSL, at);
          client.write(packet);
          continue;
        }
        if (loggingIn) {
          packet[3] = packet[3]! + 1;
          if (packet[HEADER] === 0x00 || packet[HEADER] === 0xff) loggingIn = false;
        }
        (secure ?? client).write(packet);
      }
    });

    // Before TLS the client sends one packet, its TLS request (32 bytes); what follows is TLS.
    let plain = Buffer.alloc(0);
    const onClientData = (chunk: Buffer) => {
      plain = Buffer.concat([plain, chunk]);
      if (plain.length < HEADER + 32) return;
      client.off("data", onClientData);
      const asksForTls = plain.readUIntLE(0, 3) === 32 && plain[3] === 1 && (plain.readUInt16LE(HEADER) & CLIENT_SSL) !== 0;
      if (!asksForTls) return end();
      secure = new TLSSocket(withLeftover(client, plain.subarray(HEADER + 32)), { isServer: true, key, cert });
      secure.on("secure", () => ciphers.push(secure!.getCipher().name));
      secure.on("data", (data: Buffer) => {
        for (const packet of fromClient.push(data)) toServer(packet);
      });
      secure.on("error", end).on("close", end);
    };
    client.on("data", onClientData);
  }

  const listener: Server = createServer((client) => relay(client));
  await new Promise<void>((done) => listener.listen(0, "localhost", done));
  return {
    port: (listener.address() as AddressInfo).port,
    ciphers,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => listener.close(() => done()));
    },
  };
}
