// Builds the UI into dist/, which ui.go embeds in the penny binary.
// `npm run dev` serves it with hot reload and sends /api and /v1 to a
// penny on :8080.
import { defineConfig } from 'vite';

export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/v1': 'http://127.0.0.1:8080' } },
});
