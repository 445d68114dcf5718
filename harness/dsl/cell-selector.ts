// The --cells value that selects exactly some cell ids: a leaf, so a page script (the atlas's)
// can bundle it without the rest of the DSL.

/** A `--cells` value that selects exactly these cell ids (bisect's steps, a bundle's README). */
export function exactCells(ids: string[]): string {
  const escaped = ids.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return escaped.length === 1 ? `^${escaped[0]}$` : `^(${escaped.join('|')})$`;
}
