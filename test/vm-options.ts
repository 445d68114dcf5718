// vng's options as the argv tests and the VM lifecycle tests take them (no real paths: the argv
// tests check the array, the lifecycle tests spread them over a real kernel).
export const vmOptions = {
  vmlinuz: '/k/boot/vmlinuz-6.12',
  accel: 'tcg' as const,
  cpus: 1,
  memory: '1G',
  rwdir: '/r; rm -rf /',
  append: ['a=1'],
  command: ['node', '/x/agent.mjs', '/r/plan json'],
  deadlineSec: 100.2,
};
