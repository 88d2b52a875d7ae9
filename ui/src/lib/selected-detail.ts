// The app's detail loader for the selected queue item.
import { call } from './api';
import { createDetailLoader } from './detail-loader';

export const selectedDetail = createDetailLoader({ fetch: (key) => call('item_detail', { key }), intervalMs: 1000 });
