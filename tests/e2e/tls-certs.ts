// Self-signed certificates made with openssl for the TLS tests (as the MQTT TLS tests do), and a small HTTPS
// client (node:https) that verifies the server against one of them and reports the certificate it was shown.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type Agent } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  fingerprint256: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost (its own CA), in dir as <name>.crt / <name>.key. */
export function makeCertificate(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1'].concat([
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]),
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certFile);
  return { certFile, keyFile, cert, key: readFileSync(keyFile), fingerprint256: new X509Certificate(cert).fingerprint256 };
}

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The certificate the server presented on this connection. */
  fingerprint256: string;
  socket: TLSSocket;
}

/** GET over HTTPS, trusting only `ca` (so a wrong certificate fails the request). */
export function httpsGet(url: string, o: { ca: Buffer[]; agent?: Agent }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: o.ca, ...(o.agent ? { agent: o.agent } : { agent: false }) }, (res) => {
      const socket = res.socket;
      if (!(socket instanceof TLSSocket)) {
        reject(new Error('not a TLS connection'));
        return;
      }
      const fingerprint256 = socket.getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint256, socket });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
