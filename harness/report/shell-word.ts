// A command we print for a reader to paste: each word as it is when plain, else quoted.

/** A word for a shell: as it is when it is plain, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w.,/=+:@-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
