import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { envName } from '../config/schema';

/** A certificate or key file that cannot be used; its message names the setting (main.ts makes it a StartupError). */
export class CertificateError extends Error {}

/** The config sections that hold a certificate and its key. */
export type TlsSection = 'https' | 'mqtts';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface CertificateReload {
  listener: TlsSection;
  ok: boolean;
  /** SHA-256 fingerprint of the certificate served from now on (the old one when the reload failed). */
  fingerprint256: string;
  error?: string;
}

const setting = (section: TlsSection, key: keyof CertificateFiles) => `${section}.${key} (${envName([section, key])})`;

function read(section: TlsSection, key: keyof CertificateFiles, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CertificateError(`${setting(section, key)}: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads a PEM certificate (chain) and its private key and checks that TLS can use them together, so a bad file
 * fails here, with the setting named, instead of in a handshake later.
 */
function load(section: TlsSection, files: CertificateFiles): { cert: Buffer; key: Buffer; x509: X509Certificate } {
  const cert = read(section, 'certFile', files.certFile);
  const key = read(section, 'keyFile', files.keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new CertificateError(`${setting(section, 'certFile')}: ${files.certFile} holds no PEM certificate (${(e as Error).message})`, { cause: e });
  }
  try {
    // Throws on an unreadable key and on a key that is not the certificate's ("key values mismatch").
    createSecureContext({ cert, key });
  } catch (e) {
    throw new CertificateError(
      `${setting(section, 'keyFile')}: ${files.keyFile} is not a usable PEM private key for ${files.certFile} (${(e as Error).message})`,
      { cause: e },
    );
  }
  return { cert, key, x509 };
}

/**
 * The certificate of one TLS listener, re-read from its files on reload() (SIGHUP). A reload swaps the server's
 * secure context (tls.Server.setSecureContext): new handshakes get the new certificate, open connections keep
 * theirs and are not dropped. A new certificate that does not load keeps the old one.
 */
export class ListenerCertificate {
  private server: TlsServer | undefined;
  private current: { cert: Buffer; key: Buffer; x509: X509Certificate };

  /** Throws CertificateError when the files cannot be used. */
  constructor(
    readonly section: TlsSection,
    private readonly files: CertificateFiles,
  ) {
    this.current = load(section, files);
  }

  /** For tls.createServer / https.createServer. */
  get options(): { cert: Buffer; key: Buffer } {
    return { cert: this.current.cert, key: this.current.key };
  }

  get fingerprint256(): string {
    return this.current.x509.fingerprint256;
  }

  /** The server whose secure context reload() replaces. */
  attach(server: TlsServer): void {
    this.server = server;
  }

  reload(): CertificateReload {
    try {
      const next = load(this.section, this.files);
      this.server?.setSecureContext({ cert: next.cert, key: next.key });
      this.current = next;
      return { listener: this.section, ok: true, fingerprint256: this.fingerprint256 };
    } catch (e) {
      return { listener: this.section, ok: false, fingerprint256: this.fingerprint256, error: (e as Error).message };
    }
  }
}

/** Reloads each listener's certificate and logs the outcome: info with the new fingerprint, or an error and the old one kept. */
export function reloadCertificates(certificates: readonly (ListenerCertificate | undefined)[], logger: Logger): CertificateReload[] {
  const results = certificates.flatMap((c) => (c ? [c.reload()] : []));
  for (const r of results) {
    if (r.ok) logger.info({ listener: r.listener, fingerprint256: r.fingerprint256 }, `${r.listener}: certificate reloaded`);
    else
      logger.error(
        { listener: r.listener, fingerprint256: r.fingerprint256, error: r.error },
        `${r.listener}: the new certificate was not loaded, the old one is still served: ${r.error ?? ''}`,
      );
  }
  if (results.length === 0) logger.info('certificate reload: no TLS listener is configured');
  return results;
}
