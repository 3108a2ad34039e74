/**
 * Display colours of labels for overlays and charts: distinct from each other and from reef
 * colours, so that a ring stays visible on the substrate it marks.
 */
const PALETTE = ['#1f77b4', '#ff00ff', '#ffd700', '#00e5ff', '#e6194b', '#3cb44b', '#911eb4', '#f58231', '#000075', '#ffffff', '#808000', '#9a6324'];

/** One colour per label code, in the order the codes are given. */
export function labelColours(codes: Iterable<string>): Map<string, string> {
  return new Map([...codes].map((code, i) => [code, PALETTE[i % PALETTE.length]!]));
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
