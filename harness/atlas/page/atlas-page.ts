/// <reference lib="dom" />
// The atlas page's one script (bundled by esbuild into atlas.js): the search over the features,
// and a cell's panel with the command that reruns it, opened by its link or a loaded #cell= hash.
// Everything it shows comes from the page's own attributes, set through textContent only.
import { cellOfHash, NOTE_KINDS, type NoteKind, PAGE, reproduceCommand } from '../page-contract.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;

function filterRows(): void {
  const words = (byId<HTMLInputElement>(PAGE.search)?.value ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const kind = byId<HTMLSelectElement>(PAGE.kind)?.value ?? '';
  let shown = 0;
  const rows = document.querySelectorAll<HTMLTableRowElement>(`tr.${PAGE.row}`);
  for (const row of rows) {
    const text = row.dataset.search ?? '';
    const hit = words.every((w) => text.includes(w)) && (!kind || row.dataset.kind === kind);
    row.hidden = !hit;
    const detail = row.nextElementSibling as HTMLElement | null;
    if (detail?.classList.contains(PAGE.detail)) detail.hidden = !hit;
    if (hit) shown++;
  }
  const count = byId(PAGE.count);
  if (count) count.textContent = `${shown} of ${rows.length} features`;
}

function setText(panel: HTMLElement, field: string, text: string): void {
  const el = panel.querySelector<HTMLElement>(`[data-field="${field}"]`);
  if (el) el.textContent = text;
}

/** A cell's text of one kind: the entry its data attribute numbers in its feature's list. */
function noteOf(link: HTMLAnchorElement, kind: NoteKind): string {
  const n = link.getAttribute(`data-${kind}`) ?? '0';
  return link.closest('details')?.querySelector(`ol.${kind} > li[value="${n}"]`)?.textContent ?? '';
}

function showCell(kernel: string, id: string): void {
  const panel = byId(PAGE.panel);
  const link = [...document.querySelectorAll<HTMLAnchorElement>(`a.${PAGE.cell}`)].find((a) => {
    const named = cellOfHash(a.getAttribute('href') ?? '');
    return named?.kernel === kernel && named.id === id;
  });
  if (!panel || !link) return;
  link.closest('details')?.setAttribute('open', '');
  for (const old of document.querySelectorAll(`a.${PAGE.cell}.selected`)) old.classList.remove('selected');
  link.classList.add('selected');
  setText(panel, 'cell', `${kernel} ${id}`);
  setText(panel, 'outcome', link.firstChild?.textContent ?? '');
  for (const kind of NOTE_KINDS) setText(panel, kind, noteOf(link, kind));
  setText(panel, 'command', reproduceCommand(kernel, id.split('/')[0] ?? '', id));
  panel.hidden = false;
  link.scrollIntoView({ block: 'center' });
}

function onHash(): void {
  const cell = cellOfHash(location.hash);
  if (cell) showCell(cell.kernel, cell.id);
}

function copyCommand(): void {
  const text = byId(PAGE.panel)?.querySelector('[data-field="command"]')?.textContent ?? '';
  // file:// has no clipboard API in some browsers: select the text for a manual copy instead
  navigator.clipboard?.writeText(text).catch(() => {});
  const range = document.createRange();
  const code = byId(PAGE.panel)?.querySelector('[data-field="command"]');
  if (code) range.selectNodeContents(code);
  getSelection()?.removeAllRanges();
  getSelection()?.addRange(range);
}

document.addEventListener('DOMContentLoaded', () => {
  byId(PAGE.search)?.addEventListener('input', filterRows);
  byId(PAGE.kind)?.addEventListener('change', filterRows);
  byId(PAGE.panel)
    ?.querySelector('button.close')
    ?.addEventListener('click', () => {
      const panel = byId(PAGE.panel);
      if (panel) panel.hidden = true;
    });
  byId(PAGE.panel)?.querySelector('button.copy')?.addEventListener('click', copyCommand);
  window.addEventListener('hashchange', onHash);
  filterRows();
  onHash();
});
