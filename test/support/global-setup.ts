// Vitest global setup. Local stand-ins are started per test file through test/support helpers, so nothing is shared
// across workers here yet.
export default function setup(): void {}
