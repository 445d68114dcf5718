// Progress of a run: cells done / total per VM and an ETA. On a TTY a live multi-bar
// (cli-progress); elsewhere (CI logs) one quiet line per VM every 25 %.
import cliProgress from 'cli-progress';

export interface Progress {
  add(vm: string, total: number): void;
  update(vm: string, done: number): void;
  finish(vm: string, summary: string): void;
  stop(): void;
}

export function createProgress(log: (m: string) => void, tty = process.stderr.isTTY ?? false): Progress {
  if (tty) {
    const multi = new cliProgress.MultiBar(
      {
        format: ' {vm} [{bar}] {value}/{total} cells | ETA {eta_formatted} | {status}',
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, cliProgress.SingleBar>();
    return {
      add: (vm, total) => bars.set(vm, multi.create(total, 0, { vm: vm.padEnd(20), status: 'booting' })),
      update: (vm, done) => bars.get(vm)?.update(done, { status: done > 0 ? 'running' : 'booting' }),
      finish: (vm, summary) => bars.get(vm)?.update({ status: summary }),
      stop: () => multi.stop(),
    };
  }
  const state = new Map<string, { total: number; lastQuarter: number; started: number }>();
  return {
    add: (vm, total) => {
      state.set(vm, { total, lastQuarter: 0, started: Date.now() });
      log(`${vm}: booting, ${total} cells`);
    },
    update: (vm, done) => {
      const s = state.get(vm);
      if (!s || s.total === 0) return;
      // A queued VM reports 0 from the moment it starts booting: count its ETA from there.
      if (done === 0) s.started = Date.now();
      const quarter = Math.floor((done / s.total) * 4);
      if (quarter === s.lastQuarter || done === 0) return;
      s.lastQuarter = quarter;
      const elapsed = (Date.now() - s.started) / 1000;
      const eta = done < s.total ? ` ETA ${Math.round((elapsed / done) * (s.total - done))} s` : '';
      log(`${vm}: ${done}/${s.total} cells${eta}`);
    },
    finish: (vm, summary) => log(`${vm}: ${summary}`),
    stop: () => {},
  };
}
