import path from 'node:path';
import { defineConfig } from 'vite';

// `vite build web` (npm run build:web) writes both pages to web/dist, which the API serves at `/`.
// `vite web` serves them with hot reload and proxies the API calls to a running `npm start`.
const api = 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      input: {
        storefront: path.join(import.meta.dirname, 'index.html'),
        ops: path.join(import.meta.dirname, 'ops.html'),
      },
    },
  },
  server: { proxy: { '/v1': api, '/health': api } },
});
