import type { Progress } from './runner.js';

/**
 * The progress display of a long run: one line rewritten in place on a terminal, or a line every
 * ten seconds when the output is a file or a pipe (so logs stay readable).
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; end(): void } {
  const tty = out.isTTY === true;
  let lastLineAt = 0;
  let drawn = false;
  const n = (x: number): string => x.toLocaleString('en-US');
  return {
    update(p) {
      const line =
        `${p.elapsedS.toFixed(0).padStart(5)} s  ${p.phase.padEnd(7)}  sent ${n(p.transmissions)}  acked ${n(p.acked)}  rejected ${n(p.rejected)}` +
        `  queued ${n(p.queued)}  in flight ${n(p.inFlight)}` +
        (p.mqttSenders > 0 ? `  MQTT ${n(p.connected)}/${n(p.mqttSenders)} connected` : '') +
        (Number.isNaN(p.p99Ms) ? '' : `  p99 ${p.p99Ms.toFixed(1)} ms`);
      if (tty) {
        out.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (p.elapsedS - lastLineAt >= 10 || p.phase === 'drain') {
        lastLineAt = p.elapsedS;
        out.write(`${line}\n`);
      }
    },
    end() {
      if (tty && drawn) out.write('\n');
    },
  };
}
