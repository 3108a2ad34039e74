/**
 * Display colours of labels for overlays, charts and review categories: one colour per label code,
 * the same in every picture of a survey and, as far as the palette allows, across surveys — chosen
 * by the code itself, not by how often it occurs. The palette is safe for colour-blind eyes
 * (Okabe and Ito's colours) and kept apart from reef colours (no greens or browns), so that a ring
 * stays visible on the substrate it marks.
 */
const PALETTE = ['#E69F00', '#56B4E9', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#FFFFFF', '#000000', '#FF00FF', '#00E5FF'];

/** FNV-1a of a label code: where in the palette its colour is. */
function slotOf(code: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < code.length; i++) h = Math.imul(h ^ code.charCodeAt(i), 0x01000193);
  return (h >>> 0) % PALETTE.length;
}

/**
 * One colour per label code, by the code: codes in name order each take their palette slot, or
 * the next one free when two codes share it (and again from the start past ten codes).
 * @example labelColours(['TURF', 'CORAL']).get('TURF') // the same for any set of codes that TURF shares no slot with
 */
export function labelColours(codes: Iterable<string>): Map<string, string> {
  const colours = new Map<string, string>();
  const taken = new Set<number>();
  for (const code of [...new Set(codes)].sort()) {
    if (taken.size === PALETTE.length) taken.clear();
    let slot = slotOf(code);
    while (taken.has(slot)) slot = (slot + 1) % PALETTE.length;
    taken.add(slot);
    colours.set(code, PALETTE[slot]!);
  }
  return colours;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
