/** Whether a pid names a running process (a lock or temp folder whose owner died is stale). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user — alive all the same.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
