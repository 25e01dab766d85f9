import { timingSafeEqual } from 'node:crypto';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Device } from '../../core/model/registry.js';
import type { Clock } from '../../core/ports/clock.js';
import type { RegistryStore } from '../../core/ports/registry-store.js';
import type { DeviceDirectory } from '../../pipeline/device-directory.js';
import type { Logger } from '../../core/logging.js';
import { credentialIdOf, type DeviceSecretHasher, fastDigest } from './device-secret.js';

export interface AuthenticatedDevice {
  readonly device: Device;
  readonly credentialId: string;
  /** When the credential stops working (rotation grace), or null. */
  readonly expiresAtMs: number | null;
}

interface VerifiedCredential {
  readonly digest: Buffer;
  readonly deviceId: string;
  readonly expiresAtMs: number | null;
}

/**
 * Checks device secrets. The first check of a credential in this process reads its stored hash
 * and computes one keyed HMAC (device-secret.ts): microseconds. After that the secret is
 * recognised by a SHA-256 digest held only in memory, which saves the registry read on every
 * later request (each HTTP request authenticates) and lets `recognizes` tell a known device
 * from a guesser without I/O. Rotation and revocation drop the cached entries at once.
 *
 * A credential still stored as argon2id (issued before the keyed format) costs one argon2id
 * verification (~30 ms of a libuv thread, 19 MiB) on its first use, and is then rewritten in
 * the keyed format, so it is slow once in its life, not once per restart. Those slow checks
 * alone are limited in number (a flood of bad secrets for old credentials must not exhaust the
 * thread pool or the memory): beyond the limit the answer is RPM_ERR_OVERLOADED (MQTT CONNACK 3,
 * HTTP 503 with Retry-After) and the device retries.
 */
export class DeviceAuthenticator {
  private readonly verified = new Map<string, VerifiedCredential>();
  /** Bumped by forgetDevice, so a slow check that started before a rotation does not cache stale facts. */
  private readonly generation = new Map<string, number>();
  private slowInFlight = 0;
  /** Stored hashes this process moved to the keyed format (diagnostics, tests). */
  migrated = 0;

  constructor(
    private readonly registry: RegistryStore,
    private readonly directory: DeviceDirectory,
    private readonly clock: Clock,
    private readonly hasher: DeviceSecretHasher,
    private readonly log?: Pick<Logger, 'warn' | 'error'>,
    private readonly maxSlowInFlight = 16,
  ) {}

  /** Throws RPM_ERR_AUTH_INVALID, RPM_ERR_AUTH_DEVICE_REVOKED or RPM_ERR_OVERLOADED. */
  async authenticate(secret: string, expectedDeviceId?: string): Promise<AuthenticatedDevice> {
    const credentialId = credentialIdOf(secret);
    if (credentialId === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'malformed device secret');
    const now = this.clock.now();

    let cached = this.verified.get(credentialId);
    if (cached !== undefined && !timingSafeEqual(cached.digest, fastDigest(secret))) cached = undefined;
    if (cached === undefined) cached = await this.verifyStored(credentialId, secret);

    if (cached.expiresAtMs !== null && now >= cached.expiresAtMs) {
      this.verified.delete(credentialId);
      throw new RpmError('RPM_ERR_AUTH_INVALID', 'device secret has expired');
    }
    if (expectedDeviceId !== undefined && expectedDeviceId !== cached.deviceId) {
      throw new RpmError('RPM_ERR_AUTH_INVALID', 'secret does not belong to this device');
    }
    const device = await this.directory.device(cached.deviceId);
    if (device === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'unknown device');
    if (device.status === 'revoked') throw new RpmError('RPM_ERR_AUTH_DEVICE_REVOKED', 'device has been revoked');
    return { device, credentialId, expiresAtMs: cached.expiresAtMs };
  }

  /**
   * A device named by a verified client certificate (mutual TLS; tls/client-certificate.ts):
   * authenticated if it exists and is not revoked. The certificate's fingerprint is the session's
   * credential id; its expiry is enforced by the TLS handshake, which no longer verifies it then.
   */
  async authenticateCertificate(deviceId: string, credentialId: string): Promise<AuthenticatedDevice> {
    const device = await this.directory.device(deviceId);
    if (device === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'the client certificate names no registered device');
    if (device.status === 'revoked') throw new RpmError('RPM_ERR_AUTH_DEVICE_REVOKED', 'device has been revoked');
    return { device, credentialId, expiresAtMs: null };
  }

  /**
   * Whether this exact secret was already verified by this process (an in-memory digest match,
   * no I/O): such a device keeps working while its source address is throttled for wrong secrets.
   */
  recognizes(secret: string): boolean {
    const credentialId = credentialIdOf(secret);
    const cached = credentialId === undefined ? undefined : this.verified.get(credentialId);
    return cached !== undefined && timingSafeEqual(cached.digest, fastDigest(secret));
  }

  /** The current device record of an authenticated session; throws if it was revoked meanwhile. */
  async deviceById(deviceId: string): Promise<Device> {
    const device = await this.directory.device(deviceId);
    if (device === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'unknown device');
    if (device.status === 'revoked') throw new RpmError('RPM_ERR_AUTH_DEVICE_REVOKED', 'device has been revoked');
    return device;
  }

  /** Whether a credential still authenticates, and until when. */
  async credentialStatus(credentialId: string, deviceId?: string): Promise<{ state: 'live'; expiresAtMs: number | null } | { state: 'dead' }> {
    if (credentialId.startsWith('x509:')) {
      // A certificate session lives as long as its device (the CA and the handshake vouch for the certificate).
      const device = deviceId === undefined ? undefined : await this.directory.device(deviceId);
      return device === undefined || device.status === 'revoked' ? { state: 'dead' } : { state: 'live', expiresAtMs: null };
    }
    const credential = await this.registry.findCredential(credentialId);
    if (credential === undefined || credential.revokedAtMs !== null) return { state: 'dead' };
    if (credential.expiresAtMs !== null && credential.expiresAtMs <= this.clock.now()) return { state: 'dead' };
    const device = await this.directory.device(credential.deviceId);
    if (device === undefined || device.status === 'revoked') return { state: 'dead' };
    return { state: 'live', expiresAtMs: credential.expiresAtMs };
  }

  /** Forget verified secrets of a device (rotation, revocation). */
  forgetDevice(deviceId: string): void {
    this.generation.set(deviceId, (this.generation.get(deviceId) ?? 0) + 1);
    for (const [id, v] of this.verified) if (v.deviceId === deviceId) this.verified.delete(id);
  }

  private async verifyStored(credentialId: string, secret: string): Promise<VerifiedCredential> {
    const credential = await this.registry.findCredential(credentialId);
    if (credential === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'unknown credential');
    if (credential.revokedAtMs !== null) throw new RpmError('RPM_ERR_AUTH_DEVICE_REVOKED', 'credential has been revoked');
    const before = this.generation.get(credential.deviceId) ?? 0;
    const check = await this.checkSecret(credential.secretHash, secret);
    if (!check.ok) throw new RpmError('RPM_ERR_AUTH_INVALID', 'wrong device secret');
    // Before the generation check, so no await lies between that check and the caching below.
    if (check.rehash !== undefined) await this.migrate(credentialId, credential.deviceId, credential.secretHash, check.rehash);
    if ((this.generation.get(credential.deviceId) ?? 0) !== before) {
      // Rotated or revoked while we checked: decide on the current record, and cache nothing.
      const current = await this.registry.findCredential(credentialId);
      if (current === undefined || current.revokedAtMs !== null) throw new RpmError('RPM_ERR_AUTH_DEVICE_REVOKED', 'credential has been revoked');
      return { digest: fastDigest(secret), deviceId: current.deviceId, expiresAtMs: current.expiresAtMs };
    }
    const entry: VerifiedCredential = { digest: fastDigest(secret), deviceId: credential.deviceId, expiresAtMs: credential.expiresAtMs };
    this.verified.set(credentialId, entry);
    return entry;
  }

  private async checkSecret(stored: string, secret: string): ReturnType<DeviceSecretHasher['verify']> {
    if (!this.hasher.isSlow(stored)) return this.hasher.verify(stored, secret);
    if (this.slowInFlight >= this.maxSlowInFlight) {
      throw new RpmError('RPM_ERR_OVERLOADED', 'too many credential checks in progress', { retryAfterSeconds: 1 });
    }
    this.slowInFlight++;
    try {
      return await this.hasher.verify(stored, secret);
    } finally {
      this.slowInFlight--;
    }
  }

  /**
   * Stores the keyed form of a hash that verified in an old form (argon2id, or a key being
   * rotated out). Only if the stored value is still the one we checked (a rotation in between
   * wins). A failure costs nothing but a slow check again next time: the device is let in.
   */
  private async migrate(credentialId: string, deviceId: string, from: string, to: string): Promise<void> {
    try {
      if (await this.registry.replaceCredentialHash(credentialId, from, to)) this.migrated++;
    } catch (err) {
      this.log?.warn({ err: err instanceof Error ? err.message : String(err), deviceId }, 'could not store the migrated hash of a device credential; it is checked in its old form until the next success');
    }
  }
}
