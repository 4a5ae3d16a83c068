// Boots the window with Tauri's IPC (the global API: no bundler, no network).
import { createApp } from './app.js';

const tauri = window.__TAURI__;
const app = createApp({
  invoke: tauri.core.invoke,
  listen: tauri.event.listen,
  doc: document,
  win: window,
});
// The end-to-end harness reads pop-to-painted timings here.
window.__companion = app;
app.start();
