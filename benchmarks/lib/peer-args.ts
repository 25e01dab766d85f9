/** `--port N` from a peer's argv (peers listen on 127.0.0.1 only). */
export function portArg(argv: readonly string[] = process.argv.slice(2)): number {
  const i = argv.indexOf('--port');
  const port = Number(i >= 0 ? argv[i + 1] : Number.NaN);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    process.stderr.write('usage: <peer> --port <port>\n');
    process.exit(64);
  }
  return port;
}

/** The outcome list a peer answers with: one accepted outcome per reading, like the gateway's. */
export function acceptedOutcomes(readings: readonly unknown[], nextId: () => string) {
  const outcomes = readings.map((r, index) => {
    const clientId = typeof r === 'object' && r !== null && typeof (r as { id?: unknown }).id === 'string' ? (r as { id: string }).id : undefined;
    return clientId === undefined ? { index, status: 'accepted' as const, id: nextId() } : { index, status: 'accepted' as const, id: nextId(), clientId };
  });
  return { accepted: outcomes.length, duplicate: 0, rejected: 0, outcomes };
}
