import type { PeerCertificate, TLSSocket } from 'node:tls';

/** How devices may use client certificates (RPM_DEVICE_CLIENT_CERTS). */
export type DeviceCertMode = 'off' | 'accept' | 'require';

/** The URI form a certificate's subjectAltName may use to name a device. */
export const DEVICE_URI_PREFIX = 'urn:rpm:device:';

function isTlsSocket(s: unknown): s is TLSSocket {
  return typeof s === 'object' && s !== null && 'getPeerCertificate' in s && typeof (s as TLSSocket).getPeerCertificate === 'function';
}

/**
 * The device ids a verified client certificate names: its subject CN, and its subjectAltName
 * entries `DNS:<id>` and `URI:urn:rpm:device:<id>`. Empty when the connection is not TLS, sent
 * no certificate, or sent one our CA did not sign (`authorized` is false): an unverified
 * certificate names nobody.
 */
export function certifiedDeviceIds(socket: unknown): string[] {
  if (!isTlsSocket(socket) || !socket.authorized) return [];
  const cert: PeerCertificate = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0) return [];
  const ids = new Set<string>();
  const cn = cert.subject?.CN;
  if (typeof cn === 'string' && cn !== '') ids.add(cn);
  for (const entry of (cert.subjectaltname ?? '').split(',').map((s) => s.trim())) {
    if (entry.startsWith('DNS:')) ids.add(entry.slice(4));
    else if (entry.startsWith(`URI:${DEVICE_URI_PREFIX}`)) ids.add(entry.slice(4 + DEVICE_URI_PREFIX.length));
  }
  return [...ids];
}

/** The certificate's SHA-256 fingerprint, as the credential id of a certificate-authenticated session. */
export function certificateCredentialId(socket: unknown): string | undefined {
  if (!isTlsSocket(socket) || !socket.authorized) return undefined;
  const fp = socket.getPeerCertificate().fingerprint256;
  return typeof fp === 'string' && fp !== '' ? `x509:${fp.replaceAll(':', '').toLowerCase()}` : undefined;
}
