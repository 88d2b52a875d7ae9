// Speakers in the window: a steady colour for each speaker number, readable on the
// light and dark themes.

const PALETTE = ['#2f7ed8', '#d9534f', '#2e9e5b', '#b8860b', '#8e44ad', '#16a2b8', '#e67e22', '#7f8c8d'];

/** The colour of speaker `id` (1, 2, ...): the same id, the same colour, everywhere. */
export function speakerColour(id: number): string {
  return PALETTE[(Math.max(1, Math.floor(id)) - 1) % PALETTE.length];
}
