// Test helper: Debian's (or Ubuntu's) Chromium, which npm test installs as root, for the tests
// that load a report in a real browser.
import { existsSync } from 'node:fs';

export const CHROMIUM = [
  process.env.CAPMATRIX_CHROMIUM,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/snap/bin/chromium',
  // GitHub's Ubuntu runners carry Google Chrome; Ubuntu's chromium-browser is a snap stub there
  '/usr/bin/google-chrome',
].find((p) => p && existsSync(p));
