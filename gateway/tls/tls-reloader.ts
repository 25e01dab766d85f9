import fs from 'node:fs';
import tls from 'node:tls';
import type { Logger } from '../../core/logging.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle for client certificates (mutual TLS), if any. */
  readonly caFile?: string | undefined;
}

/** What `tls.createServer` / `https.createServer` take from the files (and what setSecureContext takes). */
export type TlsMaterial = Pick<tls.SecureContextOptions, 'cert' | 'key' | 'ca'>;

/** Reads the PEM files; throws when a key does not match its certificate (a half-written rotation). */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const material: TlsMaterial = {
    cert: fs.readFileSync(files.certFile),
    key: fs.readFileSync(files.keyFile),
    ...(files.caFile === undefined ? {} : { ca: fs.readFileSync(files.caFile) }),
  };
  // createSecureContext checks that the key belongs to the certificate.
  tls.createSecureContext(material);
  return material;
}

/**
 * Certificates replaced without a restart (HTTPS and MQTT over TLS): the files are checked every
 * `checkEveryMs` (stat polling, which also sees a replace-by-rename as cert managers and mounted
 * secrets do) and on `reload()` (SIGHUP). New material goes to every server by
 * `tls.Server.setSecureContext`: connections open keep their session, new ones get the new
 * certificate. A certificate and key that do not match (caught half-way through a rotation) are
 * not applied: the old ones stay until both files agree.
 */
export class TlsReloader {
  private readonly servers = new Set<tls.Server>();
  private lastStamp: string;
  private watching = false;
  private readonly onChange = (): void => {
    const stamp = this.stamp();
    if (stamp === this.lastStamp) return;
    this.reload('files changed');
  };
  /** Successful reloads since start (for tests and metrics). */
  reloads = 0;

  constructor(
    private readonly name: string,
    private readonly files: TlsFiles,
    private readonly log: Logger,
    private readonly checkEveryMs: number,
  ) {
    this.lastStamp = this.stamp();
  }

  /** The material to create a server with (read now). */
  initial(): TlsMaterial {
    return readTlsMaterial(this.files);
  }

  /** Applies reloads to this server from now on. */
  attach(server: tls.Server): void {
    this.servers.add(server);
    if (!this.watching) {
      this.watching = true;
      for (const f of this.paths()) fs.watchFile(f, { interval: this.checkEveryMs, persistent: false }, this.onChange);
    }
  }

  /** Reads the files again and applies them; false (the old certificate stays) when they are unreadable or do not match. */
  reload(why: string): boolean {
    const stamp = this.stamp();
    let material: TlsMaterial;
    try {
      material = readTlsMaterial(this.files);
    } catch (err) {
      this.log.error({ err, listener: this.name, why }, 'TLS certificate reload failed; the previous certificate stays in use');
      return false;
    }
    for (const server of this.servers) server.setSecureContext(material);
    this.lastStamp = stamp;
    this.reloads++;
    this.log.info({ listener: this.name, why }, 'TLS certificate reloaded');
    return true;
  }

  close(): void {
    if (!this.watching) return;
    for (const f of this.paths()) fs.unwatchFile(f, this.onChange);
    this.watching = false;
  }

  private paths(): string[] {
    return [this.files.certFile, this.files.keyFile, ...(this.files.caFile === undefined ? [] : [this.files.caFile])];
  }

  private stamp(): string {
    return this.paths()
      .map((f) => {
        try {
          const s = fs.statSync(f);
          return `${s.mtimeMs}:${s.size}:${s.ino}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }
}
