import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The nurse dashboard, built by `npm run build` (run by `npm ci` through `prepare`, and by
 * `npm start` through `prestart`) into dist/dashboard, which the gateway serves at `/`.
 * `--outDir` overrides the output (the browser tests build into a temporary folder).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // No dev-server or build-time env leaks into the bundle: the app reads nothing from import.meta.env.
  envPrefix: 'RPM_DASHBOARD_PUBLIC_',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // uPlot is ~50 kB; one chunk keeps the first paint to two requests (JS + CSS).
    chunkSizeWarningLimit: 300,
    // Two pages: the dashboard, and the patient's visit page (GET /visit), which loads no dashboard code.
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        visit: fileURLToPath(new URL('visit.html', import.meta.url)),
      },
    },
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
