// A mistake in what the user asked for (a flag, a kernel id): reported in one line, before any
// kernel is fetched or VM started.
export class UsageError extends Error {
  override name = 'UsageError';
}
