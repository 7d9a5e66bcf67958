import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

// Cross-origin isolation lets the WASM backend use threads (SharedArrayBuffer) and lets the page
// cancel a run the worker is busy with.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// No request may leave the page: everything the lab needs comes from its own origin. WASM needs
// 'wasm-unsafe-eval'; the threaded WASM backend starts its pthread workers from blob: URLs and
// they importScripts() another blob: (script-src, not just worker-src).
const policy = [
  "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval' blob:", "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:", "connect-src 'self' data: blob:", "worker-src 'self' blob:", "font-src 'self'",
  "object-src 'none'", "base-uri 'self'", "form-action 'none'",
];
// The dev server adds React Refresh's inline preamble and a websocket for hot reload.
const devPolicy = policy.map((d) => (d.startsWith('script-src') ? `${d} 'unsafe-inline'` : d.startsWith('connect-src') ? `${d} ws: wss:` : d));

/** The built page carries its policy in a meta tag too, so it holds on any static host. */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'lab-content-security-policy',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: policy.join('; ') }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
  server: { headers: { ...isolation, 'Content-Security-Policy': devPolicy.join('; ') } },
  preview: { headers: { ...isolation, 'Content-Security-Policy': policy.join('; ') } },
  worker: { format: 'es' },
  build: {
    target: 'es2022', chunkSizeWarningLimit: 4096,
    // The lab, and the bench page `npm run bench` drives in headless Chromium.
    rollupOptions: { input: { main: resolve(root, 'index.html'), bench: resolve(root, 'bench.html') } },
  },
});
