import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A certificate and its key, PEM. */
export interface Issued {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa extends Issued {
  /** A server certificate for 127.0.0.1 and localhost. */
  server(cn?: string): Issued;
  /** A client certificate with this subject CN and extra subjectAltNames (`DNS:x`, `URI:x`). */
  client(cn: string, altNames?: readonly string[]): Issued;
}

const rsaKey = (): forge.pki.rsa.KeyPair => {
  // Node's key generation (native), handed to forge for signing.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const priv = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: priv, publicKey: forge.pki.setRsaPublicKey(priv.n, priv.e) };
};

function certificate(subjectCn: string, keys: forge.pki.rsa.KeyPair, issuer: { cn: string; key: forge.pki.rsa.PrivateKey } | null, extensions: object[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  // A positive serial (leading byte below 0x80), random so that a reissued certificate differs.
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.cn ?? subjectCn }]);
  cert.setExtensions(extensions);
  cert.sign(issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return cert;
}

const altName = (entry: string): object => {
  const [kind, value] = [entry.slice(0, entry.indexOf(':')), entry.slice(entry.indexOf(':') + 1)];
  if (kind === 'DNS') return { type: 2, value };
  if (kind === 'URI') return { type: 6, value };
  if (kind === 'IP') return { type: 7, ip: value };
  throw new Error(`unsupported subjectAltName ${entry}`);
};

/** A certificate authority made in the test, issuing server and device certificates (node-forge). */
export function createTestCa(name = 'RPM test CA'): TestCa {
  const caKeys = rsaKey();
  const caCert = certificate(name, caKeys, null, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  const issuer = { cn: name, key: caKeys.privateKey };
  const issue = (cn: string, extensions: object[]): Issued => {
    const keys = rsaKey();
    return { cert: forge.pki.certificateToPem(certificate(cn, keys, issuer, extensions)), key: forge.pki.privateKeyToPem(keys.privateKey) };
  };
  return {
    cert: forge.pki.certificateToPem(caCert),
    key: forge.pki.privateKeyToPem(caKeys.privateKey),
    server: (cn = 'localhost') =>
      issue(cn, [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: ['DNS:localhost', 'IP:127.0.0.1'].map(altName) },
      ]),
    client: (cn, altNames = []) =>
      issue(cn, [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', clientAuth: true },
        ...(altNames.length === 0 ? [] : [{ name: 'subjectAltName', altNames: altNames.map(altName) }]),
      ]),
  };
}
