// What the atlas page's HTML and its script agree on: the element ids, classes and data
// attributes the script reads, the cell link's form, and the command that reruns a cell.
import { exactCells } from '../dsl/cell-selector.js';
import { shellWord } from '../report/shell-word.js';

export const PAGE = {
  search: 'q',
  kind: 'kind',
  count: 'count',
  table: 'atlas',
  panel: 'cell-panel',
  /** a feature row; its data-search holds the words it is found by, data-kind its kind */
  row: 'feature',
  /** the row of a feature's cells, right after it */
  detail: 'feature-cells',
  /** a cell's link (its href names kernel and cell); data-<note kind>: the number of its entry in
   * the feature's list of that kind (ol.<kind>), 0 for none */
  cell: 'cell',
  /** a kernel column whose least privilege differs from the kernel to its left */
  changed: 'changed',
} as const;

/** The lists of texts a feature's cells share, each text once. */
export const NOTE_KINDS = ['reasons', 'checks', 'details'] as const;
export type NoteKind = (typeof NOTE_KINDS)[number];

/** The link of a cell (the page opens it when loaded with it): ids keep / + = , : readable. */
export const cellHash = (kernel: string, id: string) => `#cell=${encodeURI(`${kernel}/${id}`).replace(/#/g, '%23')}`;

/** The kernel and cell id a location hash names, if it names one. */
export function cellOfHash(hash: string): { kernel: string; id: string } | null {
  const m = /^#cell=(.+)$/.exec(hash);
  if (!m?.[1]) return null;
  let whole: string;
  try {
    whole = decodeURIComponent(m[1]);
  } catch {
    return null; // a hash someone typed or cut short
  }
  const slash = whole.indexOf('/');
  return slash > 0 ? { kernel: whole.slice(0, slash), id: whole.slice(slash + 1) } : null;
}

/** The command that runs exactly this cell again on that kernel. */
export function reproduceCommand(kernel: string, scenario: string, id: string): string {
  const words = ['npx', 'capmatrix', 'matrix', '--kernel', kernel, '--scenario', scenario, '--cells', exactCells([id])];
  return words.map(shellWord).join(' ');
}
