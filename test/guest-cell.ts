// Test helper: one cell as the guest agent gets it in its plan, with defaults, so a test names
// only what it is about.
import { type GuestCell, GuestCellSchema } from '../harness/guest/protocol.js';

/** A sample cell run as root with the root set, no sysctl, no setup; `over` replaces fields.
 * Checked against the plan's schema, so a fixture cannot drift from what the agent accepts. */
export function guestCell(over: Partial<GuestCell> = {}): GuestCell {
  return GuestCellSchema.parse({
    id: 'sample/root/default',
    key: 'k/sample/root/default#1',
    sample: 'sample',
    binary: '/bin/true',
    mode: 'sample',
    caps: 'root',
    uid: 0,
    sysctl: {},
    args: [],
    setup: [],
    teardown: [],
    setupScope: 'cell',
    scenario: 'sample',
    timeoutSec: 60,
    ...over,
  });
}
