/**
 * npm runs a script as `sh -c "<script>"`; on SIGTERM it signals that shell, which exits without
 * passing the signal on, so the process it started is orphaned and keeps running (seen with
 * `npm start` and `npm run demo`: `kill <npm pid>` left the gateway up). Under npm, losing the
 * parent is therefore taken as the signal: `onParentExit` calls back once the parent is gone.
 * Outside npm (node run directly, systemd, a container entry point) nothing is watched.
 */
export function onParentExit(callback: () => void, env: NodeJS.ProcessEnv = process.env, intervalMs = 1000): () => void {
  if (env.npm_lifecycle_event === undefined) return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    callback();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
