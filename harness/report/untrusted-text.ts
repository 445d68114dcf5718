// Text a program under test controls (a cell's detail, infra error, stdout and stderr tails,
// refused lines, verifier log; what the guest reports) made safe for each format that renders
// it, and capped. Every report takes untrusted text through here; trusted words need not.
import { esc } from './html-escape.js';

/** Characters kept of one untrusted text, per format; the head is kept, the cut said. */
export const MARKDOWN_MAX = 300;
/** A Markdown table cell is narrower. */
export const MARKDOWN_CELL_MAX = 120;
/** A fenced block: GitHub takes at most 1 MiB of job summary per step. */
export const MARKDOWN_BLOCK_MAX = 200_000;
export const XML_MAX = 8_000;
export const TERMINAL_MAX = 400;
export const HTML_MAX = 16_000;

/** The first `max` characters, and how many more there were (never half a surrogate pair). */
export function capped(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, cut)}… (${text.length - cut} more characters)`;
}

// C0 and C1 controls (ESC starts a terminal's escape sequences, CSI is one in C1) and the
// bidirectional overrides that reorder what a reader sees.
const HIDDEN = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Control characters as visible escapes (`\x1b`, `\u202e`); newline and tab stay. */
export function visibleControls(text: string): string {
  return text.replace(HIDDEN, (ch) => {
    if (ch === '\n' || ch === '\t') return ch;
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Line breaks shown as ⏎, where a break would end what holds the text (a line, a code span). */
const oneLine = (text: string) => visibleControls(text).replace(/\n/g, '⏎');

/** Untrusted text for a terminal or a CI log: no escape sequence can reach it; lines after the
 * first are indented by `indent`, under the line of ours that introduced them. */
export function terminalText(text: string, indent: string, max = TERMINAL_MAX): string {
  return visibleControls(capped(text, max)).replace(/\n/g, `\n${indent}`);
}

/** The same inside one line of ours: line breaks shown as ⏎, so none can start a line. */
export function terminalLine(text: string, max = TERMINAL_MAX): string {
  return oneLine(capped(text, max));
}

/** Untrusted text in HTML, text or attribute value (html-escape.ts's escape). */
export function htmlText(text: string, max = HTML_MAX): string {
  return esc(visibleControls(capped(text, max)));
}

// XML 1.0 allows tab, newline, return and U+0020..U+D7FF, U+E000..U+FFFD, U+10000.. (a
// surrogate only in a pair); the C0 controls are escaped visibly before this drops the rest.
const NOT_XML = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Untrusted text in XML, text or attribute value. */
export function xmlText(text: string, max = XML_MAX): string {
  return esc(visibleControls(capped(text, max))).replace(NOT_XML, '');
}

const longestBacktickRun = (text: string) => Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));

// Markdown: a code span, not backslash escapes. Escapes cannot stop what GitHub does to text
// after they are resolved (bare URLs become links, @names mentions, :name: emoji), and a code
// span shows its content literally: no HTML, link, image or emphasis. Its fence is one backtick
// longer than any run inside, so nothing inside can close it; a line break would end it (or the
// table row), so breaks are shown as ⏎.
function codeSpan(text: string): string {
  if (text === '') return '';
  const fence = '`'.repeat(longestBacktickRun(text) + 1);
  // a space each side keeps a leading or trailing backtick off the fence; CommonMark strips it
  const pad = /^[ `]|[ `]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Untrusted text inline in Markdown (a list item, a paragraph), as a code span. */
export function markdownSpan(text: string, max = MARKDOWN_MAX): string {
  return codeSpan(oneLine(capped(text, max)));
}

/** The same inside a GFM table cell: a `|` would end the cell, even in a code span, unless
 * escaped (GFM takes any `|` after a backslash into the cell). */
export function markdownCell(text: string, max = MARKDOWN_CELL_MAX): string {
  return codeSpan(oneLine(capped(text, max)).replace(/\|/g, '\\|'));
}

/** Text with untrusted parts as a fenced code block (`info`: its language), its fence longer
 * than any run of backticks inside. */
export function markdownBlock(text: string, info = '', max = MARKDOWN_BLOCK_MAX): string {
  const body = visibleControls(capped(text, max)).replace(/\n?$/, '\n');
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(body) + 1));
  return `${fence}${info}\n${body}${fence}\n`;
}
