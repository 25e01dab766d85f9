import { type Api, seg } from './api.js';
import type { TimeEntry } from './types.js';

/**
 * This nurse's running timer (the server allows one at a time), shared by the header and the
 * patient view. The server keeps the times; this only mirrors them.
 */
export class TimerService {
  running: TimeEntry | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly api: Api) {}

  async load(): Promise<void> {
    this.set((await this.api.get<{ entry: TimeEntry | null }>('/v1/time/running')).entry);
  }

  async start(patientId: string, interactive: boolean, modality: 'audio' | 'video' | 'secure-message' | null = null): Promise<void> {
    this.set(await this.api.post<TimeEntry>(`/v1/patients/${seg(patientId)}/time/start`, { interactive, ...(modality === null ? {} : { modality }) }));
  }

  /** Stops the running timer now, or (signing out) at a given time with the reason. */
  async stop(options: { reason?: 'signed-out' | 'session-expired'; endedAt?: number } = {}): Promise<TimeEntry | null> {
    if (this.running === null) return null;
    const body = { ...(options.reason === undefined ? {} : { reason: options.reason }), ...(options.endedAt === undefined ? {} : { endedAt: new Date(options.endedAt).toISOString() }) };
    const stopped = await this.api.post<TimeEntry>(`/v1/time/${seg(this.running.id)}/stop`, body);
    this.set(null);
    return stopped;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(entry: TimeEntry | null): void {
    this.running = entry;
    for (const l of this.listeners) l();
  }
}
