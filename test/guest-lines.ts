// Test helper: a guest results file as the agent writes it (signed, numbered lines).
import { type CellRecord, type GuestRecord, newSigner, type ProvenanceRecord } from '../harness/guest/protocol.js';

export function provenanceRecord(bootId: string, publicKey: string): ProvenanceRecord {
  return {
    type: 'provenance',
    bootId,
    publicKey,
    release: '6.12.117+deb13-amd64',
    clocksource: 'tsc',
    sysctls: {},
    tracefs: { path: '/sys/kernel/tracing', fs: 'tracefs', mode: '0700' },
    bpffs: { path: '/sys/fs/bpf', fs: 'bpf', mode: '0700' },
    lockdown: null,
    agentUid: 0,
    sudoers: ['root'],
    containment: { cgroup: '/sys/fs/cgroup', rwdirDetached: true, detail: 'test' },
    t: 0,
  };
}

export function cellRecord(id: string, key: string): CellRecord {
  return {
    type: 'cell',
    id,
    key,
    caps: [],
    observed: { outcome: 'ok', stage: 'run', errno: 0, detail: 'fine' },
    durationMs: 5,
    sysctlNow: {},
  };
}

/** The provenance line, then `records`, each a signed line ending in a newline. */
export function guestLines(bootId: string, records: GuestRecord[], signer = newSigner()): string[] {
  const all = [provenanceRecord(bootId, signer.publicKey), ...records];
  return all.map((r, seq) => signer.line(seq, r));
}
