/**
 * The console's two pages, each one self-contained HTML document: inline CSS and script (allowed by a per-response
 * CSP nonce), no CDN, no web fonts, nothing fetched at view time but the console's own API and images. The scripts
 * build every element from record data with `textContent` / attributes, never HTML strings: listing text is
 * merchant input. The only server-side data in the page is the taxonomy's category list, embedded as JSON with `<`
 * escaped so it cannot close its script element.
 */
import { BATCHES_SCRIPT } from './batches-script';
import { REVIEW_SCRIPT } from './review-script';

export interface PageCategory {
  id: string;
  name: string;
  parent?: string;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d232b; --muted: #5d6875; --line: #d8dde3; --accent: #1f5fbf; --ok: #1e7a3a; --bad: #b3261e; --warn: #9a6700; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; padding: 10px 18px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0 12px 0 0; }
nav a { margin-right: 12px; color: var(--accent); text-decoration: none; }
nav a[aria-current="page"] { font-weight: 600; color: var(--ink); }
main { padding: 18px; max-width: 1200px; margin: 0 auto; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 14px; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 12px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.muted { color: var(--muted); }
.grid { display: grid; grid-template-columns: minmax(260px, 420px) 1fr; gap: 18px; }
.imagebox { background: #eef0f3; border-radius: 6px; min-height: 240px; display: flex; align-items: center; justify-content: center; }
.imagebox img { max-width: 100%; max-height: 480px; image-rendering: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.bars { display: grid; grid-template-columns: minmax(120px, max-content) 1fr 52px; gap: 4px 10px; align-items: center; }
.bar { position: relative; height: 10px; background: #e5e8ec; border-radius: 5px; overflow: hidden; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); }
.bar .fill.hot { background: var(--bad); }
.bar .fill.warm { background: var(--warn); }
.bar .mark { position: absolute; top: -2px; bottom: -2px; width: 2px; background: var(--ink); }
.num { font-variant-numeric: tabular-nums; text-align: right; }
ul.reasons { margin: 0; padding-left: 18px; }
ul.reasons code, code { background: #eef0f3; padding: 0 4px; border-radius: 3px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin-top: 10px; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button.approve { border-color: var(--ok); color: var(--ok); }
button.reject { border-color: var(--bad); color: var(--bad); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
h3 kbd { text-transform: none; }
kbd { font: 12px ui-monospace, monospace; border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; background: #fafbfc; }
textarea { width: 100%; font: inherit; min-height: 48px; }
input[type="text"], select { font: inherit; padding: 4px 6px; }
.status { min-height: 1.4em; margin: 6px 0; }
.status.error { color: var(--bad); }
.empty { text-align: center; padding: 48px 12px; }
.stats { display: flex; gap: 18px; flex-wrap: wrap; }
.stats div strong { display: block; font-size: 18px; }
.badge { display: inline-block; white-space: nowrap; padding: 0 8px; border-radius: 10px; font-size: 12px; background: #eef0f3; }
.badge.FLAGGED, .badge.FAILED, .badge.REFUSED { background: #fbe3e1; color: var(--bad); }
.badge.NEEDS_REVIEW, .badge.RUNNING, .badge.QUEUED { background: #fdf0d5; color: var(--warn); }
.badge.AUTO_PASS, .badge.COMPLETED { background: #e3f3e7; color: var(--ok); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 14px; width: min(420px, 90vw); }
dialog select { width: 100%; margin-top: 8px; }
progress { width: 240px; }
[hidden] { display: none !important; }
`;

function shell(options: { nonce: string; title: string; current: 'review' | 'batches'; categories: PageCategory[]; body: string; script: string }): string {
  // JSON in a script element: escaping "<" keeps any "</script>" in a category name inert.
  const categoriesJson = JSON.stringify(options.categories).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title}</title>
<style nonce="${options.nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>media-triage</h1>
  <nav><a href="/"${options.current === 'review' ? ' aria-current="page"' : ''}>Review</a><a href="/batches"${options.current === 'batches' ? ' aria-current="page"' : ''}>Batches</a></nav>
  ${options.current === 'review' ? REVIEWER_CONTROLS : ''}
</header>
<main>
${options.body}
</main>
<script type="application/json" id="categories">${categoriesJson}</script>
<script nonce="${options.nonce}">${options.script}</script>
</body>
</html>
`;
}

const REVIEWER_CONTROLS = `
  <form id="reviewer-form" class="actions">
    <label>Reviewer <input type="text" id="reviewer" autocomplete="username" size="16" required maxlength="64"></label>
    <button type="submit" id="reviewer-start">Start</button>
  </form>
  <label><input type="checkbox" id="adjudicator"> adjudicator</label>
`;

const REVIEW_BODY = `
<section class="card" id="my-stats" aria-label="Your stats">
  <div class="stats">
    <div><span class="muted">Your decisions (<span id="stats-window">30 days</span>)</span><strong id="stat-decisions">–</strong></div>
    <div><span class="muted">Median time to label</span><strong id="stat-median">–</strong></div>
    <div><span class="muted">Accuracy on known-answer items</span><strong id="stat-gold">–</strong></div>
    <div><span class="muted">Waiting in the queue</span><strong id="stat-pending">–</strong></div>
  </div>
</section>
<div id="status" class="status" role="status" aria-live="polite"></div>
<section class="card empty" id="signin" hidden><h2>Who is reviewing?</h2><p class="muted">Enter your reviewer id above; it is kept in this browser.</p></section>
<section class="card empty" id="empty" hidden><h2>Nothing to review</h2><p class="muted">The queue has no item for you right now.</p><button id="refresh" type="button">Check again</button></section>
<section class="card" id="case" hidden>
  <div class="grid">
    <div>
      <div class="imagebox"><img id="image" alt="the asset's image"></div>
      <p class="muted" id="image-facts"></p>
    </div>
    <div>
      <h2><span id="asset-title"></span> <span class="badge" id="outcome"></span> <span class="badge" id="role" hidden>adjudication</span></h2>
      <dl class="facts">
        <dt>Declared</dt><dd id="declared"></dd>
        <dt>Description</dt><dd id="description"></dd>
        <dt>Price</dt><dd id="price"></dd>
        <dt>Merchant</dt><dd id="merchant"></dd>
        <dt>Asset</dt><dd id="asset"></dd>
      </dl>
      <h3>Reasons</h3>
      <ul class="reasons" id="reasons"></ul>
      <h3>Explanation</h3>
      <p id="explanation"></p>
      <h3>Predicted categories</h3>
      <div class="bars" id="predicted"></div>
      <h3>Policy scores</h3>
      <div class="bars" id="policy"></div>
    </div>
  </div>
  <h3><label for="note">Note (<kbd>n</kbd>)</label></h3>
  <textarea id="note" maxlength="2000" placeholder="optional: why"></textarea>
  <div class="actions">
    <button class="approve" id="approve" type="button"><kbd>a</kbd> Approve</button>
    <button class="reject" id="reject" type="button"><kbd>r</kbd> Reject</button>
    <button id="recategorize" type="button"><kbd>c</kbd> Recategorize…</button>
    <button id="skip" type="button"><kbd>s</kbd> Skip</button>
    <span class="muted">claimed until <span id="claim-until"></span></span>
  </div>
</section>
<dialog id="picker" aria-label="Recategorize">
  <form method="dialog" id="picker-form">
    <label>Category <input type="text" id="picker-filter" autocomplete="off" placeholder="type to filter"></label>
    <select id="picker-list" size="8" aria-label="categories"></select>
    <div class="actions"><button type="submit" class="primary" id="picker-ok">Recategorize</button><button type="button" id="picker-cancel">Cancel</button></div>
  </form>
</dialog>
`;

export function reviewPage(options: { nonce: string; categories: PageCategory[] }): string {
  return shell({ ...options, title: 'Review · media-triage', current: 'review', body: REVIEW_BODY, script: REVIEW_SCRIPT });
}

const BATCHES_BODY = `
<div id="status" class="status" role="status" aria-live="polite"></div>
<section class="card" id="unavailable" hidden><h2>No pipeline</h2><p class="muted">This console was started without a batch runner.</p></section>
<div id="forms">
<section class="card">
  <h2>Upload a batch archive</h2>
  <p class="muted">A .zip with <code>manifest.csv</code> or <code>manifest.jsonl</code> and the images (README "The batch contract").</p>
  <form id="zip-form" class="actions">
    <input type="file" id="zip-file" accept=".zip,application/zip" required>
    <button type="submit" class="primary" id="zip-submit">Upload and run</button>
  </form>
</section>
<section class="card">
  <h2>Or loose images</h2>
  <form id="images-form">
    <div class="actions">
      <input type="file" id="image-files" accept="image/jpeg,image/png" multiple required>
      <label>Merchant <input type="text" id="merchant-id" required size="14"></label>
      <label>Declared category <select id="declared-category" required></select></label>
      <label>Title <input type="text" id="images-title" size="24" placeholder="default: the file name"></label>
      <button type="submit" class="primary" id="images-submit">Make a batch and run</button>
    </div>
  </form>
</section>
</div>
<section class="card" id="jobs-card" hidden>
  <h2>Batches run from this console</h2>
  <table><thead><tr><th>File</th><th>Batch</th><th>State</th><th>Progress</th><th></th></tr></thead><tbody id="jobs"></tbody></table>
</section>
<section class="card" id="result" hidden>
  <h2>Batch <code id="result-batch"></code> <span class="badge" id="result-state"></span></h2>
  <p id="result-error" class="status error"></p>
  <p id="result-execution" class="status"></p>
  <div id="result-body">
    <h3>Outcomes</h3>
    <div class="stats" id="outcome-counts"></div>
    <h3>Report</h3>
    <dl class="facts" id="report"></dl>
    <p><a id="csv-link" download>Download the assets CSV</a></p>
    <h3>Exceptions (<span id="exceptions-count">0</span>)</h3>
    <table><thead><tr><th>Asset</th><th>Outcome</th><th>Reasons</th><th>Explanation</th></tr></thead><tbody id="exceptions"></tbody></table>
    <h3>All assets</h3>
    <table><thead><tr><th>Asset</th><th>File</th><th>Title</th><th>Declared</th><th>Outcome</th><th>Review</th></tr></thead><tbody id="assets"></tbody></table>
  </div>
</section>
`;

export function batchesPage(options: { nonce: string; categories: PageCategory[]; available: boolean }): string {
  const body = BATCHES_BODY.replace(
    '<section class="card" id="unavailable" hidden>',
    options.available ? '<section class="card" id="unavailable" hidden>' : '<section class="card" id="unavailable">',
  );
  return shell({ ...options, title: 'Batches · media-triage', current: 'batches', body, script: BATCHES_SCRIPT });
}
