/**
 * Inline SVG charts for the report pages (no scripts, no fonts, nothing fetched). Every chart is one <svg> with
 * `data-chart="<name>"`; every drawn datum carries a data attribute — `data-bar` (with `data-label`, `data-value`)
 * on bars, `data-cell` (with `data-row`, `data-col`, `data-value`) on matrix cells — so a browser test can count
 * what was drawn against the data. Labels and values are escaped like any other data.
 */
import { html, raw, type SafeHtml } from './html';

export type Tone = 'good' | 'warn' | 'bad' | 'neutral' | 'info' | 'muted';

const TONE_FILL: Record<Tone, string> = {
  good: '#2e7d32',
  warn: '#ef8f00',
  bad: '#c62828',
  neutral: '#546e7a',
  info: '#1565c0',
  muted: '#b0bec5',
};

export interface Bar {
  label: string;
  value: number;
  tone?: Tone;
  /** Text after the bar (default: the value). */
  caption?: string;
}

const px = (value: number): SafeHtml => raw(String(Math.round(value * 10) / 10));

function truncate(label: string, max: number): string {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

/** Horizontal bars, one row per datum, scaled to the largest value (or to `max`). */
export function barChart(chart: string, title: string, bars: readonly Bar[], options: { max?: number } = {}): SafeHtml {
  const rowHeight = 22;
  const labelWidth = 250;
  const barWidth = 330;
  const width = labelWidth + barWidth + 90;
  const height = Math.max(1, bars.length) * rowHeight + 8;
  const max = options.max ?? Math.max(0, ...bars.map((bar) => bar.value));
  const rows = bars.map((bar, index) => {
    const y = 4 + index * rowHeight;
    const length = max <= 0 ? 0 : (Math.max(0, bar.value) / max) * barWidth;
    return html`<text x="${px(labelWidth - 6)}" y="${px(y + 15)}" text-anchor="end" class="label">${truncate(bar.label, 30)}<title>${bar.label}</title></text>
<rect data-bar="" data-label="${bar.label}" data-value="${bar.value}" x="${px(labelWidth)}" y="${px(y + 3)}" width="${px(Math.max(length, bar.value > 0 ? 1 : 0))}" height="16" rx="2" fill="${TONE_FILL[bar.tone ?? 'info']}"><title>${bar.label}: ${bar.caption ?? bar.value}</title></rect>
<text x="${px(labelWidth + length + 6)}" y="${px(y + 15)}" class="value">${bar.caption ?? bar.value}</text>`;
  });
  const empty = bars.length === 0 ? html`<text x="8" y="18" class="muted">nothing to show</text>` : '';
  return html`<svg data-chart="${chart}" role="img" aria-label="${title}" viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>${rows}${empty}</svg>`;
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/** Vertical bars over consecutive bins (e.g. score tenths), scaled to the tallest bin. */
export function histogram(chart: string, title: string, bins: readonly HistogramBin[], options: { label?: string } = {}): SafeHtml {
  const barWidth = 22;
  const gap = 3;
  const plotHeight = 80;
  const width = bins.length * (barWidth + gap) + 10;
  const height = plotHeight + 34;
  const max = Math.max(1, ...bins.map((bin) => bin.count));
  const bars = bins.map((bin, index) => {
    const x = 5 + index * (barWidth + gap);
    const h = (bin.count / max) * plotHeight;
    const label = `${bin.from.toFixed(1)}–${bin.to.toFixed(1)}`;
    return html`<rect data-bar="" data-label="${label}" data-value="${bin.count}" x="${px(x)}" y="${px(4 + plotHeight - h)}" width="${px(barWidth)}" height="${px(Math.max(h, bin.count > 0 ? 1 : 0))}" fill="#1565c0"><title>${label}: ${bin.count}</title></rect>${
      bin.count > 0 ? html`<text x="${px(x + barWidth / 2)}" y="${px(plotHeight + 2 - h)}" text-anchor="middle" class="tiny">${bin.count}</text>` : ''
    }`;
  });
  const axis = html`<line x1="3" y1="${px(plotHeight + 4)}" x2="${px(width - 3)}" y2="${px(plotHeight + 4)}" stroke="#90a4ae"/><text x="5" y="${px(plotHeight + 18)}" class="tiny">${bins[0]?.from.toFixed(1) ?? ''}</text><text x="${px(width - 5)}" y="${px(plotHeight + 18)}" text-anchor="end" class="tiny">${bins.at(-1)?.to.toFixed(1) ?? ''}</text><text x="${px(width / 2)}" y="${px(plotHeight + 30)}" text-anchor="middle" class="tiny">${options.label ?? ''}</text>`;
  return html`<svg data-chart="${chart}" role="img" aria-label="${title}" viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>${bars}${axis}</svg>`;
}

/** A count matrix (rows × columns) as shaded cells; only non-zero cells are data cells. */
export function matrixChart(
  chart: string,
  title: string,
  rows: readonly string[],
  cols: readonly string[],
  count: (row: string, col: string) => number,
  diagonal?: (row: string, col: string) => boolean,
): SafeHtml {
  const cell = 30;
  const left = 150;
  const top = 110;
  const width = left + cols.length * cell + 10;
  const height = top + rows.length * cell + 10;
  const max = Math.max(1, ...rows.flatMap((row) => cols.map((col) => count(row, col))));
  const colLabels = cols.map(
    (col, j) =>
      html`<text transform="translate(${px(left + j * cell + cell / 2 + 4)} ${px(top - 6)}) rotate(-60)" class="label">${truncate(col, 18)}<title>${col}</title></text>`,
  );
  const body = rows.map((row, i) => {
    const y = top + i * cell;
    const label = html`<text x="${px(left - 6)}" y="${px(y + cell / 2 + 4)}" text-anchor="end" class="label">${truncate(row, 22)}<title>${row}</title></text>`;
    const cells = cols.map((col, j) => {
      const value = count(row, col);
      const x = left + j * cell;
      if (value === 0) return html`<rect x="${px(x)}" y="${px(y)}" width="${px(cell - 2)}" height="${px(cell - 2)}" fill="#f1f4f6"/>`;
      const shade = 0.2 + 0.8 * (value / max);
      const fill = diagonal?.(row, col) === true ? `rgba(46,125,50,${shade.toFixed(2)})` : `rgba(198,40,40,${shade.toFixed(2)})`;
      return html`<rect data-cell="" data-row="${row}" data-col="${col}" data-value="${value}" x="${px(x)}" y="${px(y)}" width="${px(cell - 2)}" height="${px(cell - 2)}" fill="${fill}"><title>${row} → ${col}: ${value}</title></rect><text x="${px(x + cell / 2 - 1)}" y="${px(y + cell / 2 + 4)}" text-anchor="middle" class="tiny cell">${value}</text>`;
    });
    return [label, ...cells];
  });
  return html`<svg data-chart="${chart}" role="img" aria-label="${title}" viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>${colLabels}${body}</svg>`;
}

export interface PairedBin {
  label: string;
  current: number;
  baseline: number;
}

/** Two bars per bin (this batch vs the baseline, as shares), for the drift charts. */
export function pairedBars(chart: string, title: string, bins: readonly PairedBin[]): SafeHtml {
  const rowHeight = 30;
  const labelWidth = 190;
  const barWidth = 330;
  const width = labelWidth + barWidth + 80;
  const height = Math.max(1, bins.length) * rowHeight + 26;
  const max = Math.max(0.0001, ...bins.flatMap((bin) => [bin.current, bin.baseline]));
  const rows = bins.map((bin, index) => {
    const y = 22 + index * rowHeight;
    const bar = (series: 'current' | 'baseline', value: number, dy: number, fill: string): SafeHtml =>
      html`<rect data-bar="" data-series="${series}" data-label="${bin.label}" data-value="${value}" x="${px(labelWidth)}" y="${px(y + dy)}" width="${px(Math.max((value / max) * barWidth, value > 0 ? 1 : 0))}" height="11" fill="${fill}"><title>${bin.label} (${series}): ${(value * 100).toFixed(1)}%</title></rect><text x="${px(labelWidth + (value / max) * barWidth + 5)}" y="${px(y + dy + 10)}" class="tiny">${(value * 100).toFixed(1)}%</text>`;
    return html`<text x="${px(labelWidth - 6)}" y="${px(y + 16)}" text-anchor="end" class="label">${truncate(bin.label, 28)}<title>${bin.label}</title></text>${bar('current', bin.current, 2, '#1565c0')}${bar('baseline', bin.baseline, 15, '#90a4ae')}`;
  });
  const legend = html`<rect x="${px(labelWidth)}" y="4" width="10" height="10" fill="#1565c0"/><text x="${px(labelWidth + 14)}" y="13" class="tiny">this batch</text><rect x="${px(labelWidth + 90)}" y="4" width="10" height="10" fill="#90a4ae"/><text x="${px(labelWidth + 104)}" y="13" class="tiny">baseline</text>`;
  return html`<svg data-chart="${chart}" role="img" aria-label="${title}" viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>${legend}${rows}</svg>`;
}
