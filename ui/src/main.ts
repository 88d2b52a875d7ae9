import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { importPaths } from './lib/importer';

declare global {
  interface Window {
    /** The drop path (import_paths + the rejected-files report); used by the end-to-end tests. */
    video2docImport: typeof importPaths;
  }
}

window.video2docImport = importPaths;

// `npm run demo`: a simulated shell in a plain browser (dropped from production builds).
if (import.meta.env.MODE === 'demo') await import('./demo/mock-shell');

const target = document.getElementById('app');
if (!target) throw new Error('#app is missing from index.html');

export default mount(App, { target });
