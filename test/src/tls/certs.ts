/**
 * Certificates for the TLS tests, made with `openssl` in a temp dir: a CA, a server certificate it
 * signs for 127.0.0.1 and localhost (the brokers', Redis' and the S3 proxy's), a client
 * certificate it signs, and a second CA with a client certificate of its own (the one mTLS refuses).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caFile: string;
  ca: Buffer;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  client: { cert: Buffer; key: Buffer };
  /** Signed by another CA: mTLS must refuse it. */
  strangerCertFile: string;
  strangerKeyFile: string;
  stranger: { cert: Buffer; key: Buffer };
  /** Another server certificate from the same CA (a renewal); its serial differs. */
  issueServerCert(name: string): { certFile: string; keyFile: string };
  /** Removes the directory (it outlives the harness's per-suite cleanup: every suite of a file shares it). */
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], dir);
}

/** A leaf `name` signed by `ca`, for server and client use (no extendedKeyUsage: a broker is both). */
function makeLeaf(dir: string, ca: string, name: string, subject: string): void {
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'strata-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'ca', 'server', '/CN=broker');
  makeLeaf(dir, 'ca', 'client', '/O=acme/CN=alice');
  makeLeaf(dir, 'other-ca', 'stranger', '/CN=mallory');
  const file = (name: string): string => join(dir, name);
  return {
    dir,
    caFile: file('ca.crt'),
    ca: readFileSync(file('ca.crt')),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    client: { cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) },
    strangerCertFile: file('stranger.crt'),
    strangerKeyFile: file('stranger.key'),
    stranger: { cert: readFileSync(file('stranger.crt')), key: readFileSync(file('stranger.key')) },
    issueServerCert(name) {
      makeLeaf(dir, 'ca', name, `/CN=${name}`);
      return { certFile: file(`${name}.crt`), keyFile: file(`${name}.key`) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
