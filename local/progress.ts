/** A one-line progress bar on stderr, drawn only when stderr is a terminal (never in --json or CI logs). */
export class ProgressBar {
  private readonly enabled: boolean;
  private lastLength = 0;

  constructor(
    private readonly label: string,
    enabled = process.stderr.isTTY === true,
  ) {
    this.enabled = enabled;
  }

  update(done: number, total: number, note = ''): void {
    if (!this.enabled || total <= 0) return;
    const width = 28;
    const filled = Math.round((done / total) * width);
    const line = `${this.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total}${note === '' ? '' : ` ${note}`}`;
    process.stderr.write(`\r${line}${' '.repeat(Math.max(0, this.lastLength - line.length))}`);
    this.lastLength = line.length;
  }

  done(): void {
    if (this.enabled && this.lastLength > 0) process.stderr.write('\n');
    this.lastLength = 0;
  }
}

/** A status line on stderr for a phase that has no measurable progress. */
export function phase(message: string, enabled = process.stderr.isTTY === true): void {
  if (enabled) process.stderr.write(`${message}\n`);
}
