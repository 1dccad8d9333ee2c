/** The page frame both report pages share: inline CSS only, no scripts, system fonts, nothing fetched. */
import { html, raw, type SafeHtml } from './html';
import type { GateReport, GateStatus } from '../gates/quality-gates';

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1c2a33; background: #f6f8f9; }
header { background: #12324a; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; opacity: .85; }
main { padding: 8px 28px 40px; max-width: 1180px; }
section { background: #fff; border: 1px solid #dde3e7; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 10px 0 6px; }
.grid { display: flex; flex-wrap: wrap; gap: 14px; }
.kpi { border: 1px solid #dde3e7; border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.kpi b { display: block; font-size: 20px; }
.kpi span { color: #5b6b75; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e6eaed; padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
th { color: #5b6b75; font-weight: 600; }
td.num, th.num { text-align: right; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.pass { background: #2e7d32; } .warn { background: #ef8f00; } .fail { background: #c62828; } .skipped { background: #90a4ae; }
.muted, .note { color: #5b6b75; }
figure { margin: 0; }
figcaption { font-size: 12px; color: #5b6b75; }
svg .label { font-size: 12px; fill: #1c2a33; } svg .value { font-size: 12px; fill: #37474f; }
svg .tiny { font-size: 10px; fill: #37474f; } svg .cell { fill: #fff; } svg .muted { font-size: 12px; fill: #78909c; }
footer { color: #5b6b75; font-size: 12px; padding: 0 28px 28px; }
`;

export function page(title: string, subtitle: SafeHtml | string, body: SafeHtml, footer: SafeHtml | string): string {
  return `<!doctype html>\n${
    html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title><style>${raw(CSS)}</style></head>
<body><header><h1>${title}</h1><p>${subtitle}</p></header><main>${body}</main><footer>${footer}</footer></body></html>`.value
  }\n`;
}

export function badge(status: GateStatus): SafeHtml {
  return html`<span class="badge ${status}" data-gate-status="${status}">${status}</span>`;
}

export function kpi(label: string, value: string, note?: string): SafeHtml {
  return html`<div class="kpi"><b>${value}</b><span>${label}</span>${note === undefined ? '' : html`<br><span>${note}</span>`}</div>`;
}

const fmt = (gate: { gate: string; value: number | null }): string => {
  if (gate.value === null) return '—';
  return gate.gate.endsWith('Drift') ? gate.value.toFixed(3) : `${(gate.value * 100).toFixed(1)}%`;
};
const limit = (gate: { gate: string }, value: number): string => (gate.gate.endsWith('Drift') ? value.toFixed(2) : `${(value * 100).toFixed(0)}%`);

export function gatesTable(gates: GateReport): SafeHtml {
  const rows = gates.gates.map(
    (gate) =>
      html`<tr data-gate="${gate.gate}"><td>${gate.gate}</td><td>${badge(gate.status)}</td><td class="num">${fmt(gate)}</td><td>${gate.direction === 'above' ? 'warn above' : 'warn below'} ${limit(gate, gate.warn)}, fail ${gate.direction} ${limit(gate, gate.fail)}</td><td class="note">${gate.note ?? ''}</td></tr>`,
  );
  return html`<table data-table="gates"><thead><tr><th>Gate</th><th>Result</th><th class="num">Value</th><th>Thresholds</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}
